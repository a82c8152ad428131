/** Exponential back-off with a little jitter, so a fleet of proxies does not retry in lockstep. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor?: number;
  /** Up to this fraction is added at random (0.2 = up to +20 %); the result never exceeds maxMs. */
  readonly jitter?: number;
  readonly random?: () => number;
}

export class Backoff {
  private failures = 0;

  constructor(private readonly opts: BackoffOptions) {}

  /** The delay before the next retry; each call doubles the base until maxMs. */
  next(): number {
    const { initialMs, maxMs, factor = 2, jitter = 0.2, random = Math.random } = this.opts;
    const base = Math.min(maxMs, initialMs * factor ** this.failures);
    this.failures++;
    return Math.min(maxMs, Math.round(base * (1 + jitter * random())));
  }

  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}

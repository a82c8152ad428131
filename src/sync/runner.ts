/** Timers, injectable so tests can drive time. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RunnerIntervals {
  /** A run never starts sooner than this after the previous run finished (minSyncPeriod). */
  readonly minIntervalMs: number;
  /** After a failed run, run again this long after it (syncPeriod). */
  readonly retryIntervalMs: number;
  /** With no request at all, run this long after the previous run (the hourly full sync). */
  readonly maxIntervalMs: number;
}

/**
 * Upstream's BoundedFrequencyRunner (pkg/proxy/runner): one run at a time; `run()` requests a run
 * and never blocks, many requests coalesce into one; failures retry after retryInterval; with
 * nothing to do it still runs every maxInterval.
 */
export class BoundedFrequencyRunner {
  private running = false;
  private requested = false;
  private started = false;
  private stopped = false;
  private lastFinished = Number.NEGATIVE_INFINITY;
  private retryAt: number | undefined;
  private timer: unknown;
  private timerAt: number | undefined;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly intervals: RunnerIntervals,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly clock: Clock = systemClock,
  ) {
    if (intervals.maxIntervalMs < intervals.minIntervalMs) {
      throw new Error(`maxInterval (${intervals.maxIntervalMs} ms) is less than minInterval (${intervals.minIntervalMs} ms)`);
    }
  }

  /** Starts the loop; the first run happens only when requested (or after maxInterval). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.lastFinished = this.clock.now();
    this.schedule();
  }

  /** Requests a run as soon as minInterval allows. Before start() it is a no-op, as upstream. */
  run(): void {
    if (!this.started || this.stopped) return;
    this.requested = true;
    if (!this.running) this.schedule();
  }

  /** Stops scheduling and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    await this.idle;
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
  }

  private nextRunAt(): number {
    const earliest = this.lastFinished + this.intervals.minIntervalMs;
    let at = this.lastFinished + this.intervals.maxIntervalMs;
    if (this.retryAt !== undefined) at = Math.min(at, this.retryAt);
    if (this.requested) at = Math.min(at, earliest);
    return Math.max(at, earliest);
  }

  private schedule(): void {
    if (this.stopped || this.running) return;
    const at = this.nextRunAt();
    if (this.timerAt !== undefined && this.timerAt <= at) return;
    this.cancelTimer();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      void this.execute();
    }, Math.max(0, at - this.clock.now()));
  }

  private async execute(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    this.requested = false;
    this.retryAt = undefined;
    let done!: () => void;
    this.idle = new Promise((resolve) => (done = resolve));
    try {
      await this.fn();
    } catch (err) {
      this.retryAt = this.clock.now() + this.intervals.retryIntervalMs;
      this.onError(err);
    } finally {
      this.running = false;
      this.lastFinished = this.clock.now();
      done();
      this.schedule();
    }
  }
}

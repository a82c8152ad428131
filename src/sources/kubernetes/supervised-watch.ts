import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { TokenBucket } from './rate-limiter.js';

export interface WatchGuard {
  /** False once the informer this watch belongs to has been retired: it must not open anything. */
  isCurrent(): boolean;
  /** Any watch event arrived (objects, BOOKMARK, ERROR): the stream is alive. */
  onEvent(): void;
  readonly limiter: TokenBucket;
  /** client-node's inactivity timeout (30 s by default): a watch silent this long is re-opened. */
  readonly inactivityTimeoutMs: number;
}

/**
 * client-node's Watch with three additions the supervisor needs:
 * - it opens nothing for a retired informer. client-node 2.0.1's stop() does not stop a relist or
 *   a back-off sleep that is already running, so without this an old informer opens an orphan
 *   watch after stop();
 * - requests go through the client-side rate limiter;
 * - it asks for BOOKMARKs (as client-go's reflector does), so a quiet but healthy watch still shows
 *   signs of life and the staleness timer can tell it from a dead one.
 */
export class SupervisedWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly guard: WatchGuard,
  ) {
    super(kc);
    // Private in the 2.0.1 typings, a plain property at run time.
    (this as unknown as { requestTimeoutMs: number }).requestTimeoutMs = guard.inactivityTimeoutMs;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    if (!this.guard.isCurrent()) return abortedController();
    await this.guard.limiter.take();
    if (!this.guard.isCurrent()) return abortedController();
    const controller = await super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      (phase, obj, raw) => {
        this.guard.onEvent();
        callback(phase, obj, raw);
      },
      done,
    );
    // Retired while the request was being opened: close it instead of handing it over.
    if (!this.guard.isCurrent()) controller.abort();
    return controller;
  }
}

function abortedController(): AbortController {
  const c = new AbortController();
  c.abort();
  return c;
}

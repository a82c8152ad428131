import { ListWatch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../util/log.js';
import { Backoff } from './backoff.js';
import { describeError, RetiredInformerError } from './errors.js';
import type { TokenBucket } from './rate-limiter.js';
import type { WatchedResource } from './resources.js';
import { SupervisedWatch } from './supervised-watch.js';

/** Where a supervisor delivers net changes: each object once per resourceVersion. */
export interface ObjectHandler<T extends KubernetesObject> {
  upsert(obj: T): void;
  remove(obj: T): void;
}

export interface SupervisorTimings {
  /** First restart delay after a failure; doubles up to maxBackoffMs. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** An informer that ran this long before failing restarts from initialBackoffMs again. */
  readonly backoffResetAfterMs: number;
  /** No completed list, no event, no BOOKMARK for this long: the informer is replaced. */
  readonly staleAfterMs: number;
  /** client-node's watch inactivity timeout: a silent watch is re-opened by client-node itself. */
  readonly watchInactivityTimeoutMs: number;
  /** A LIST still unanswered after this is aborted (the API server itself gives up at 60 s). */
  readonly listTimeoutMs: number;
}

/**
 * Production values: the API server sends a BOOKMARK about once a minute to a watch that asks for
 * them, so a healthy quiet watch stays open under a 90 s inactivity timeout, and 3 minutes
 * without any sign of life means something is wrong.
 */
export const DEFAULT_TIMINGS: SupervisorTimings = {
  initialBackoffMs: 1000,
  maxBackoffMs: 30_000,
  backoffResetAfterMs: 60_000,
  staleAfterMs: 180_000,
  watchInactivityTimeoutMs: 90_000,
  listTimeoutMs: 60_000,
};

/** Timings scaled from one watch timeout (the --api-watch-timeout flag; tests use seconds). */
export function timingsForWatchTimeout(watchTimeoutMs: number): SupervisorTimings {
  if (watchTimeoutMs === DEFAULT_TIMINGS.watchInactivityTimeoutMs) return DEFAULT_TIMINGS;
  return {
    ...DEFAULT_TIMINGS,
    watchInactivityTimeoutMs: watchTimeoutMs,
    staleAfterMs: 2 * watchTimeoutMs,
    listTimeoutMs: Math.min(DEFAULT_TIMINGS.listTimeoutMs, watchTimeoutMs),
    backoffResetAfterMs: Math.min(DEFAULT_TIMINGS.backoffResetAfterMs, watchTimeoutMs),
  };
}

export type RestartReason = 'error' | 'stale';

export interface SupervisorStatus {
  readonly resource: string;
  readonly state: 'running' | 'backing-off' | 'stopped';
  readonly synced: boolean;
  readonly objects: number;
  readonly restarts: number;
  readonly lastError: string | undefined;
  readonly lastRestartDelayMs: number | undefined;
}

export interface InformerSupervisorOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  readonly resource: WatchedResource<T>;
  readonly handler: ObjectHandler<T>;
  readonly limiter: TokenBucket;
  readonly log: Logger;
  readonly timings?: Partial<SupervisorTimings>;
  /** The first complete list has been delivered (called once). */
  readonly onSynced?: () => void;
  readonly onRestart?: (reason: RestartReason, delayMs: number) => void;
  readonly random?: () => number;
}

interface Attempt<T extends KubernetesObject> {
  readonly informer: ListWatch<T>;
  readonly listAbort: AbortController;
  readonly startedAt: number;
  lastProgress: number;
}

interface KnownObject<T> {
  readonly resourceVersion: string | undefined;
  readonly object: T;
}

const keyOf = (obj: KubernetesObject): string | undefined => {
  const name = obj?.metadata?.name;
  if (typeof name !== 'string' || name === '') return undefined;
  return `${obj.metadata?.namespace ?? ''}/${name}`;
};

/**
 * Keeps one client-node informer alive for one resource and turns what it sees into exact
 * upserts and removals.
 *
 * client-node 2.0.1 informers stop for good on any error other than 410 Gone (dropped stream,
 * 5xx, 403, 429, a failed list). The supervisor treats every 'error' as "stopped", retires that
 * informer and starts a fresh one after an exponential back-off (1 s doubling to 30 s). A
 * staleness timer replaces an informer that shows no sign of life (no completed list, no watch
 * event or BOOKMARK) for too long: a stalled LIST, or watches that connect and then hang.
 *
 * Each informer instance belongs to one attempt. Its callbacks, its list function and its watch
 * check that the attempt is still the current one, so a retired informer can neither deliver
 * events nor open requests (client-node's stop() does not stop a relist or a back-off sleep in
 * progress).
 *
 * The supervisor keeps its own map of what it has delivered. A fresh informer lists everything
 * again; the list is compared with that map, so the handler sees only real changes, and objects
 * that vanished while the informer was down are removed. Nothing is removed because of a failure:
 * while disconnected the last known state stays in place.
 */
export class InformerSupervisor<T extends KubernetesObject> {
  private readonly timings: SupervisorTimings;
  private readonly backoff: Backoff;
  private readonly known = new Map<string, KnownObject<T>>();
  private active: Attempt<T> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private started = false;
  private synced = false;
  private restarts = 0;
  private lastError: string | undefined;
  private lastRestartDelayMs: number | undefined;

  constructor(private readonly opts: InformerSupervisorOptions<T>) {
    this.timings = { ...DEFAULT_TIMINGS, ...opts.timings };
    this.backoff = new Backoff({
      initialMs: this.timings.initialBackoffMs,
      maxMs: this.timings.maxBackoffMs,
      ...(opts.random ? { random: opts.random } : {}),
    });
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    const every = Math.max(50, Math.min(5000, Math.floor(this.timings.staleAfterMs / 5)));
    this.staleTimer = setInterval(() => this.checkStaleness(), every);
    this.staleTimer.unref();
    this.startAttempt();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.staleTimer) clearInterval(this.staleTimer);
    this.retire();
  }

  status(): SupervisorStatus {
    return {
      resource: this.opts.resource.name,
      state: this.stopped ? 'stopped' : this.active ? 'running' : 'backing-off',
      synced: this.synced,
      objects: this.known.size,
      restarts: this.restarts,
      lastError: this.lastError,
      lastRestartDelayMs: this.lastRestartDelayMs,
    };
  }

  /** What the handler has been given, by `namespace/name` (tests and diagnostics). */
  objects(): ReadonlyMap<string, T> {
    return new Map([...this.known].map(([k, v]) => [k, v.object]));
  }

  private startAttempt(): void {
    if (this.stopped) return;
    const { resource, kubeConfig, limiter } = this.opts;
    const listAbort = new AbortController();
    // `attempt` is assigned below; the closures only run after that.
    let attempt!: Attempt<T>;
    const current = (): boolean => !this.stopped && this.active === attempt;
    const progress = (): void => {
      if (current()) attempt.lastProgress = performance.now();
    };
    const watch = new SupervisedWatch(kubeConfig, {
      isCurrent: current,
      onEvent: progress,
      limiter,
      inactivityTimeoutMs: this.timings.watchInactivityTimeoutMs,
    });
    const list = async (): Promise<KubernetesListObject<T>> => {
      await limiter.take();
      if (!current()) throw new RetiredInformerError();
      const signal = AbortSignal.any([listAbort.signal, AbortSignal.timeout(this.timings.listTimeoutMs)]);
      const result = await resource.list(signal);
      if (!current()) throw new RetiredInformerError();
      this.reconcile(result.items ?? []);
      progress();
      return result;
    };
    const informer = new ListWatch<T>(resource.path, watch, list, false, resource.labelSelector, resource.fieldSelector);
    informer.on('add', (obj) => current() && this.deliverUpsert(obj));
    informer.on('update', (obj) => current() && this.deliverUpsert(obj));
    informer.on('delete', (obj) => current() && this.deliverRemove(obj));
    informer.on('error', (err) => current() && this.fail(attempt, 'error', err));
    const now = performance.now();
    attempt = { informer, listAbort, startedAt: now, lastProgress: now };
    this.active = attempt;
    informer.start().catch((err: unknown) => {
      if (current()) this.fail(attempt, 'error', err);
    });
  }

  /** A fresh list is the whole truth: deliver what changed, remove what is gone. */
  private reconcile(items: readonly T[]): void {
    const listed = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      if (key === undefined) continue;
      listed.add(key);
      this.deliverUpsert(item);
    }
    for (const [key, known] of this.known) {
      if (!listed.has(key)) this.deliverRemove(known.object);
    }
    if (!this.synced) {
      this.synced = true;
      this.opts.log.info({ resource: this.opts.resource.name, objects: this.known.size }, 'Initial list received');
      this.opts.onSynced?.();
    }
  }

  private deliverUpsert(obj: T): void {
    const key = keyOf(obj);
    if (key === undefined) {
      this.opts.log.warn({ resource: this.opts.resource.name }, 'Ignoring an object without a name');
      return;
    }
    const resourceVersion = obj.metadata?.resourceVersion;
    const before = this.known.get(key);
    if (before && resourceVersion !== undefined && before.resourceVersion === resourceVersion) return;
    this.known.set(key, { resourceVersion, object: obj });
    this.guarded('upsert', key, () => this.opts.handler.upsert(obj));
  }

  private deliverRemove(obj: T): void {
    const key = keyOf(obj);
    if (key === undefined) return;
    const before = this.known.get(key);
    if (!before) return;
    this.known.delete(key);
    this.guarded('remove', key, () => this.opts.handler.remove(before.object));
  }

  /** A handler bug must not take the watch down with it. */
  private guarded(what: string, key: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.log.error({ resource: this.opts.resource.name, object: key, err: String(err) }, `Handler failed on ${what}`);
    }
  }

  private checkStaleness(): void {
    const attempt = this.active;
    if (!attempt || this.stopped) return;
    const idleMs = performance.now() - attempt.lastProgress;
    if (idleMs >= this.timings.staleAfterMs) this.fail(attempt, 'stale', new Error(`no list, event or bookmark for ${Math.round(idleMs)} ms`));
  }

  private fail(attempt: Attempt<T>, reason: RestartReason, err: unknown): void {
    if (this.active !== attempt || this.stopped) return;
    this.retire();
    if (performance.now() - attempt.startedAt >= this.timings.backoffResetAfterMs) this.backoff.reset();
    const delayMs = this.backoff.next();
    this.restarts++;
    this.lastError = describeError(err);
    this.lastRestartDelayMs = delayMs;
    this.opts.log.warn(
      { resource: this.opts.resource.name, reason, err: this.lastError, retryInMs: delayMs, consecutiveFailures: this.backoff.consecutiveFailures },
      reason === 'stale' ? 'Watch is stale; restarting the informer (programmed rules stay as they are)' : 'Informer stopped; restarting it (programmed rules stay as they are)',
    );
    this.opts.onRestart?.(reason, delayMs);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.startAttempt();
    }, delayMs);
  }

  private retire(): void {
    const attempt = this.active;
    if (!attempt) return;
    this.active = undefined;
    attempt.listAbort.abort();
    // Errors that follow our own stop() (an AbortError) are ignored: the attempt is no longer current.
    void attempt.informer.stop().catch(() => undefined);
  }
}

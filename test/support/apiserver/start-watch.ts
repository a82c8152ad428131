import type { ServerResponse } from 'node:http';
import type { RequestFaults } from './faults.js';
import { waitUntilFresh } from './list-objects.js';
import { matchesFilter, type ObjectFilter } from './object-filter.js';
import type { ObjectStore } from './object-store.js';
import { parseResourceVersion, type ReadOptions } from './read-options.js';
import type { ResourceVersionClock } from './resource-version-clock.js';
import { tooOldResourceVersion } from './status.js';
import type { WatchRegistry } from './watch-registry.js';
import { WatchStream } from './watch-stream.js';

/**
 * Where a new watch starts, as the real server decides it:
 * - no resourceVersion, or "0": synthetic ADDED events for the current state, then changes;
 * - sendInitialEvents=true: the same, followed by a BOOKMARK annotated `k8s.io/initial-events-end`;
 * - resourceVersion X: every change after X from the event log, then live changes; if the log no
 *   longer reaches back to X, 410 Gone, either as the HTTP status or (the watch cache's way) as an
 *   ERROR event on a 200 stream, depending on `expiredWatchResponse`.
 */

export type ExpiredWatchResponse = 'event' | 'status';

export interface StartWatchContext {
  store: ObjectStore;
  clock: ResourceVersionClock;
  registry: WatchRegistry;
  filter: ObjectFilter;
  options: ReadOptions;
  response: ServerResponse;
  query: Record<string, string>;
  faults: RequestFaults;
  bookmarkIntervalMs: number;
  defaultTimeoutSeconds: number | undefined;
  tooLargeResourceVersionWaitMs: number;
  expiredWatchResponse: ExpiredWatchResponse;
}

export async function startWatch(ctx: StartWatchContext): Promise<WatchStream | undefined> {
  const { store, options, filter } = ctx;
  const rvText = options.resourceVersion;
  const requested = rvText === undefined || rvText === '' || rvText === '0' ? undefined : parseResourceVersion(rvText);
  if (requested !== undefined) await waitUntilFresh(ctx.clock, requested, ctx.tooLargeResourceVersionWaitMs);

  // The client may have given up while we waited; a stream for a closed response would never end.
  if (ctx.response.closed || ctx.response.destroyed) return undefined;

  // From here on everything is synchronous, so no change can slip between the replay and the subscription.
  const expired = requested !== undefined && options.sendInitialEvents !== true && !store.log.covers(requested);
  if (expired && ctx.expiredWatchResponse === 'status') throw tooOldResourceVersion(String(requested), String(store.log.compactedThrough + 1));

  let unregister: () => void = () => undefined;
  const stream = new WatchStream({
    id: ctx.registry.allocateId(),
    type: store.type,
    filter,
    response: ctx.response,
    currentResourceVersion: () => ctx.clock.current(),
    bookmarkIntervalMs: options.allowWatchBookmarks ? ctx.bookmarkIntervalMs : undefined,
    timeoutSeconds: options.timeoutSeconds ?? ctx.defaultTimeoutSeconds,
    query: ctx.query,
    onEnd: () => unregister(),
  });
  unregister = ctx.registry.register(stream, store);

  if (ctx.faults.stall) {
    stream.open({ stalled: true, sendHeaders: !ctx.faults.stall.beforeHeaders });
    return stream;
  }
  stream.open();
  if (expired) {
    stream.sendErrorAndClose(tooOldResourceVersion(String(requested), String(store.log.compactedThrough + 1)).status);
    return stream;
  }
  if (ctx.faults.drop) stream.interruptAfter('drop', ctx.faults.drop.afterEvents);
  if (ctx.faults.close) stream.interruptAfter('close', ctx.faults.close.afterEvents);

  const sendsInitialState = options.sendInitialEvents === true || (requested === undefined && options.sendInitialEvents !== false);
  if (sendsInitialState) {
    for (const object of store.snapshot().items) {
      if (matchesFilter(filter, object)) stream.send({ type: 'ADDED', object });
    }
    if (options.sendInitialEvents === true) stream.sendBookmark({ 'k8s.io/initial-events-end': 'true' });
  } else if (requested !== undefined) {
    for (const change of store.log.after(requested)) stream.deliver(change);
  }
  return stream;
}

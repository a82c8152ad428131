import { encodeContinueToken } from './continue-token.js';
import { hasSelectors, matchesFilter, type ObjectFilter } from './object-filter.js';
import type { ObjectStore, Snapshot } from './object-store.js';
import type { ReadConsistency } from './read-options.js';
import type { ResourceVersionClock } from './resource-version-clock.js';
import { apiVersionOf, storageKey } from './resources.js';
import { expired, resourceVersionTooLarge } from './status.js';
import type { KubeObject } from './types.js';

/** A list request answered as the real server does: consistency, selectors, pagination. */

export interface ListBody {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

const CONTINUE_TOO_OLD =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** Waits (like the watch cache does, up to ~3 s) for the clock to reach a version a client already saw elsewhere. */
export async function waitUntilFresh(clock: ResourceVersionClock, resourceVersion: number, waitMs: number): Promise<void> {
  if (await clock.waitFor(resourceVersion, waitMs)) return;
  throw resourceVersionTooLarge(String(resourceVersion), String(clock.current()));
}

async function readSnapshot(store: ObjectStore, clock: ResourceVersionClock, consistency: ReadConsistency, waitMs: number): Promise<{ snapshot: Snapshot; afterKey?: string }> {
  switch (consistency.kind) {
    case 'mostRecent':
    case 'any':
      return { snapshot: store.snapshot() };
    case 'notOlderThan':
      await waitUntilFresh(clock, consistency.resourceVersion, waitMs);
      return { snapshot: store.snapshot() };
    case 'exact':
      await waitUntilFresh(clock, consistency.resourceVersion, waitMs);
      return { snapshot: store.snapshot(consistency.resourceVersion) };
    case 'continue': {
      const { resourceVersion, afterKey } = consistency.position;
      if (!store.log.covers(resourceVersion)) throw expired(CONTINUE_TOO_OLD);
      return { snapshot: store.snapshot(resourceVersion), afterKey };
    }
  }
}

/** Items in a list response carry no kind/apiVersion, as in the real server's JSON. */
function listItem(object: KubeObject): KubeObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return rest as KubeObject;
}

export async function listObjects(options: {
  store: ObjectStore;
  clock: ResourceVersionClock;
  filter: ObjectFilter;
  consistency: ReadConsistency;
  limit: number | undefined;
  tooLargeResourceVersionWaitMs: number;
}): Promise<ListBody> {
  const { store, filter, limit } = options;
  const { snapshot, afterKey } = await readSnapshot(store, options.clock, options.consistency, options.tooLargeResourceVersionWaitMs);
  const keyOf = (o: KubeObject): string => storageKey(o.metadata.namespace, o.metadata.name ?? '');
  const selected = snapshot.items.filter((o) => (afterKey === undefined || keyOf(o) > afterKey) && matchesFilter(filter, o));
  const page = limit !== undefined && limit > 0 ? selected.slice(0, limit) : selected;
  const body: ListBody = {
    kind: store.type.listKind,
    apiVersion: apiVersionOf(store.type),
    metadata: { resourceVersion: String(snapshot.resourceVersion) },
    items: page.map(listItem),
  };
  const remaining = selected.length - page.length;
  const last = page[page.length - 1];
  if (remaining > 0 && last) {
    body.metadata.continue = encodeContinueToken({ resourceVersion: snapshot.resourceVersion, afterKey: keyOf(last) });
    // The real server only knows the remaining count when no selector filters the range.
    if (!hasSelectors(filter)) body.metadata.remainingItemCount = remaining;
  }
  return body;
}

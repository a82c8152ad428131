import type { DelaySpec, FailSpec, InterruptSpec, StallSpec } from './faults.js';
import type { RequestFilter, RequestRecord } from './request-log.js';
import type { ExpiredWatchResponse } from './start-watch.js';
import type { KubeObject, ResourceName } from './types.js';
import type { DropWatchesSpec, WatchTarget } from './watch-registry.js';
import type { WatchInfo } from './watch-stream.js';

/**
 * What a test can do with a test API server, whether it runs in the test's process
 * (`TestApiServer`) or as a separate process reached over its control socket
 * (`RemoteApiServer`). Object operations here bypass faults and the request log: they are the
 * "rest of the cluster" changing things, not the client under test.
 */

export interface ObjectRef {
  namespace?: string;
  name: string;
}

export interface CompactSpec {
  resource?: ResourceName;
  /** Forget events at or below this version; default: the current version. */
  resourceVersion?: number;
}

/** Server behaviour that tests may change while it runs. */
export interface RuntimeSettings {
  /** How often a watch that asked for bookmarks gets one. */
  bookmarkIntervalMs: number;
  /** How a watch from a too-old resourceVersion is refused: ERROR event on a 200 stream, or HTTP 410. */
  expiredWatchResponse: ExpiredWatchResponse;
  /** Server-side end of watches that do not send timeoutSeconds; undefined: never. */
  defaultWatchTimeoutSeconds: number | undefined;
  /** How long a list/watch for a resourceVersion newer than the server's waits before 504. */
  tooLargeResourceVersionWaitMs: number;
}

export interface WaitForWatchesSpec extends WatchTarget {
  /** How many open watches to wait for; default 1. */
  count?: number;
  /** Only watches opened after the watch with this id (ids increase). */
  afterId?: number;
}

export interface ApiServerControl {
  readonly url: string;
  readonly kubeconfigPath: string;

  create(resource: ResourceName, object: KubeObject): Promise<KubeObject>;
  /** PUT semantics: a `metadata.resourceVersion` in the object is checked (409 Conflict when stale). */
  replace(resource: ResourceName, object: KubeObject): Promise<KubeObject>;
  replaceStatus(resource: ResourceName, object: KubeObject): Promise<KubeObject>;
  /** JSON merge patch. */
  patch(resource: ResourceName, ref: ObjectRef, mergePatch: Record<string, unknown>): Promise<KubeObject>;
  /** Create, or replace unconditionally if it exists. */
  apply(resource: ResourceName, object: KubeObject): Promise<KubeObject>;
  /** Deletes and returns the object, or undefined if it did not exist. */
  remove(resource: ResourceName, ref: ObjectRef): Promise<KubeObject | undefined>;
  get(resource: ResourceName, ref: ObjectRef): Promise<KubeObject | undefined>;
  list(resource: ResourceName, namespace?: string): Promise<KubeObject[]>;
  currentResourceVersion(): Promise<string>;

  failNext(spec: FailSpec): Promise<void>;
  delayNext(spec: DelaySpec): Promise<void>;
  stallNext(spec?: StallSpec): Promise<void>;
  dropNext(spec?: InterruptSpec): Promise<void>;
  closeNextWatches(spec?: InterruptSpec): Promise<void>;
  clearFaults(): Promise<void>;

  dropWatches(spec?: DropWatchesSpec): Promise<number>;
  closeWatches(target?: WatchTarget): Promise<number>;
  stallWatches(target?: WatchTarget): Promise<number>;
  expireWatches(target?: WatchTarget): Promise<number>;

  compact(spec?: CompactSpec): Promise<void>;
  /** Moves the clock on and compacts, so every watch or exact list from an earlier version gets 410. Returns the new version. */
  expireHistory(target?: WatchTarget): Promise<string>;
  configure(settings: Partial<RuntimeSettings>): Promise<void>;

  requests(filter?: RequestFilter): Promise<RequestRecord[]>;
  latestRequestSeq(): Promise<number>;
  clearRequests(): Promise<void>;
  activeWatches(target?: WatchTarget): Promise<WatchInfo[]>;
  waitForRequest(filter: RequestFilter, timeoutMs?: number): Promise<RequestRecord>;
  waitForWatches(spec?: WaitForWatchesSpec, timeoutMs?: number): Promise<WatchInfo[]>;
}

/** The operations the control socket accepts: every method of ApiServerControl. */
export const CONTROL_OPERATIONS = [
  'create', 'replace', 'replaceStatus', 'patch', 'apply', 'remove', 'get', 'list', 'currentResourceVersion',
  'failNext', 'delayNext', 'stallNext', 'dropNext', 'closeNextWatches', 'clearFaults',
  'dropWatches', 'closeWatches', 'stallWatches', 'expireWatches',
  'compact', 'expireHistory', 'configure',
  'requests', 'latestRequestSeq', 'clearRequests', 'activeWatches', 'waitForRequest', 'waitForWatches',
] as const satisfies ReadonlyArray<Exclude<keyof ApiServerControl, 'url' | 'kubeconfigPath'>>;

export type ControlOperation = (typeof CONTROL_OPERATIONS)[number];

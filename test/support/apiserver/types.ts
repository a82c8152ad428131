/** Shapes shared by the test API server's modules. Objects are plain JSON, as on the wire. */

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** The plural resource names the server serves (the path segment after the group/version). */
export type ResourceName = 'services' | 'endpointslices' | 'nodes' | 'servicecidrs';

export const RESOURCE_NAMES: readonly ResourceName[] = ['services', 'endpointslices', 'nodes', 'servicecidrs'];

/** Kubernetes API verbs as the authorizer names them, plus `watch` split out from `list`. */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export const VERBS: readonly Verb[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export function isResourceName(value: unknown): value is ResourceName {
  return typeof value === 'string' && (RESOURCE_NAMES as readonly string[]).includes(value);
}

export function isVerb(value: unknown): value is Verb {
  return typeof value === 'string' && (VERBS as readonly string[]).includes(value);
}

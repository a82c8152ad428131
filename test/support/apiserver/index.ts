/** The test Kubernetes API server: see README.md in this folder. */
export { TestApiServer, isApiError, type TestApiServerOptions } from './server.js';
export { RemoteApiServer } from './remote-api-server.js';
export { spawnApiServer, type SpawnApiServerOptions, type SpawnedApiServer } from './spawn-api-server.js';
export type { ApiServerControl, ObjectRef, CompactSpec, RuntimeSettings, WaitForWatchesSpec } from './control-api.js';
export type { FailSpec, DelaySpec, StallSpec, InterruptSpec, FaultTarget } from './faults.js';
export type { DropWatchesSpec, WatchTarget } from './watch-registry.js';
export type { WatchInfo } from './watch-stream.js';
export type { RequestRecord, RequestFilter } from './request-log.js';
export type { KubeObject, ResourceName, Verb } from './types.js';
export { service, endpointSlice, node, KUBE_PROXY_LABEL_SELECTOR, type ServiceSpecInput, type EndpointSliceInput, type NodeInput } from './objects.js';
export { InformerProbe, type InformerRecord } from './informer-probe.js';
export { ApiError } from './status.js';
export { pollUntil } from './poll.js';
export { kubeConfigFrom, serviceInformer, endpointSliceInformer, nodeInformer, type InformerOptions } from './kube-clients.js';
export { rawRequest, RawWatch, type RawTarget, type RawResponse, type RawWatchEvent } from './raw-client.js';

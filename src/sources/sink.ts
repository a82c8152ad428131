import type { EndpointSlice, Node, Service } from '../model/k8s.js';

/**
 * Where a source delivers objects: the same narrow surface for the Kubernetes API and the
 * manifest directory, so nothing downstream knows which one is in use.
 */
export interface ObjectSink {
  upsertService(svc: Service): void;
  deleteService(namespacedName: string): void;
  upsertEndpointSlice(slice: EndpointSlice): void;
  deleteEndpointSlice(namespacedName: string): void;
  upsertNode(node: Node): void;
  /** The initial list of Services has been delivered. */
  servicesSynced(): void;
  /** The initial list of EndpointSlices has been delivered. */
  endpointSlicesSynced(): void;
}

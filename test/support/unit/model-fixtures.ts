/** Small builders for Kubernetes objects in model tests. */
import type { EndpointSlice, EndpointSliceEndpoint, Service } from '../../../src/model/k8s.js';

export function service(ns: string, name: string, spec: Service['spec'], extra: Partial<Service> = {}): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec, ...extra };
}

export function slice(
  ns: string,
  svc: string,
  name: string,
  endpoints: EndpointSliceEndpoint[],
  ports: EndpointSlice['ports'] = [{ name: 'p80', port: 80, protocol: 'TCP' }],
  addressType = 'IPv4',
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
    addressType,
    endpoints,
    ports,
  };
}

export const p80 = [{ name: 'p80', port: 80, protocol: 'TCP' }];

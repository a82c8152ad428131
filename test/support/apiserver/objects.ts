import type { KubeObject } from './types.js';

/**
 * Builders for the objects kube-proxy reads, with only the fields a test usually cares about.
 * The server fills in the rest (ClusterIP, NodePorts, protocols, policies) as a real one would.
 */

export interface ServicePortSpec {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  nodePort?: number;
}

export interface ServiceSpecInput {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  clusterIP?: string;
  ports?: ServicePortSpec[];
  /** Any further `spec` fields (externalTrafficPolicy, sessionAffinity, externalIPs, ...). */
  spec?: Record<string, unknown>;
}

export function service(input: ServiceSpecInput): KubeObject {
  const spec: Record<string, unknown> = { ports: input.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }], ...input.spec };
  if (input.type) spec.type = input.type;
  if (input.clusterIP) spec.clusterIP = input.clusterIP;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: input.name, namespace: input.namespace ?? 'default', ...(input.labels ? { labels: input.labels } : {}), ...(input.annotations ? { annotations: input.annotations } : {}) },
    spec,
  };
}

export interface EndpointInput {
  addresses: string[];
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  nodeName?: string;
  zone?: string;
  hostname?: string;
}

export interface EndpointSliceInput {
  name: string;
  namespace?: string;
  /** The owning Service; sets the `kubernetes.io/service-name` label kube-proxy groups slices by. */
  serviceName: string;
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: EndpointInput[];
  ports?: Array<{ name?: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function endpointSlice(input: EndpointSliceInput): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: input.name,
      namespace: input.namespace ?? 'default',
      labels: { 'kubernetes.io/service-name': input.serviceName, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', ...input.labels },
      ...(input.annotations ? { annotations: input.annotations } : {}),
    },
    addressType: input.addressType ?? 'IPv4',
    endpoints: input.endpoints.map((ep) => ({
      addresses: ep.addresses,
      conditions: { ready: ep.ready ?? true, serving: ep.serving ?? ep.ready ?? true, terminating: ep.terminating ?? false },
      ...(ep.nodeName ? { nodeName: ep.nodeName } : {}),
      ...(ep.zone ? { zone: ep.zone } : {}),
      ...(ep.hostname ? { hostname: ep.hostname } : {}),
    })),
    ports: input.ports ?? [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

export interface NodeInput {
  name: string;
  labels?: Record<string, string>;
  zone?: string;
  internalIPs?: string[];
  podCIDRs?: string[];
  taints?: Array<{ key: string; effect: string; value?: string }>;
}

export function node(input: NodeInput): KubeObject {
  const labels: Record<string, string> = { 'kubernetes.io/hostname': input.name, 'kubernetes.io/os': 'linux', ...input.labels };
  if (input.zone) labels['topology.kubernetes.io/zone'] = input.zone;
  const spec: Record<string, unknown> = {};
  if (input.podCIDRs) {
    spec.podCIDR = input.podCIDRs[0];
    spec.podCIDRs = input.podCIDRs;
  }
  if (input.taints) spec.taints = input.taints;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: input.name, labels },
    spec,
    status: { addresses: [...(input.internalIPs ?? []).map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: input.name }] },
  };
}

/** The label selector kube-proxy uses for Services and EndpointSlices (upstream `cmd/kube-proxy/app/server.go`). */
export const KUBE_PROXY_LABEL_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';

/** The Services and EndpointSlices the benchmark creates: selector-less, so nothing else touches them. */

export const MANAGED_BY = 'kube-proxy-ts-benchmark';
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

export function benchService(index: number): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `bench-${index}`, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
    spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  };
}

/**
 * Endpoint addresses from 198.18.0.0/15, the range set aside for benchmarks (RFC 2544): never a
 * real pod, so no traffic is ever sent to them. `changedAt` becomes the trigger-time annotation
 * the proxies measure network programming latency from, as the EndpointSlice controller would set.
 */
export function benchEndpointSlice(index: number, endpoints: number, changedAt: Date): Record<string, unknown> {
  const addresses = Array.from({ length: endpoints }, (_, e) => {
    const n = index * endpoints + e;
    return `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 0xff}.${n & 0xff}`;
  });
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `bench-${index}`,
      labels: { 'kubernetes.io/service-name': `bench-${index}`, 'endpointslice.kubernetes.io/managed-by': MANAGED_BY },
      annotations: { [TRIGGER_TIME_ANNOTATION]: changedAt.toISOString() },
    },
    addressType: 'IPv4',
    endpoints: addresses.map((address) => ({ addresses: [address], conditions: { ready: true, serving: true, terminating: false } })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

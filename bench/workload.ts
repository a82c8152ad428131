/**
 * The benchmark workload: N ClusterIP services with M endpoints each, as Kubernetes objects fed
 * through the real tracker, so every mode is measured on the same snapshot. A tenth of the
 * services are NodePorts, so the external paths are exercised too.
 */
import { ChangeTracker } from '../src/model/tracker.js';
import type { EndpointSlice, Service } from '../src/model/k8s.js';
import type { Checkout } from '../src/model/snapshot.js';

export const BENCH_NODE = 'bench-node';

export interface WorkloadSize {
  readonly services: number;
  readonly endpointsPerService: number;
}

function clusterIP(i: number): string {
  return `10.96.${(i >> 8) & 0xff}.${i & 0xff}`;
}

/**
 * Addresses per service: endpoints 0..123 and four replacement pods (124..127) for changed
 * endpoints, so a 100-endpoint service never shares a pod IP with its neighbour.
 */
export const POD_SLOTS = 128;
export const MAX_ENDPOINTS_PER_SERVICE = POD_SLOTS - 4;
/** 10.64.0.0/10 holds 4M addresses: 32768 services of POD_SLOTS pods. */
export const MAX_SERVICES = (1 << 22) / POD_SLOTS - 1;

/** Pod j of service i: unique across the cluster. */
export function podIP(i: number, j: number): string {
  const n = i * POD_SLOTS + j;
  return `10.${64 + ((n >> 16) & 0x3f)}.${(n >> 8) & 0xff}.${n & 0xff}`;
}

export function benchService(i: number): Service {
  const nodePort = i % 10 === 0 ? 30000 + (i % 2700) : 0;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: `ns${i % 50}`, name: `svc-${i}` },
    spec: {
      type: nodePort ? 'NodePort' : 'ClusterIP',
      clusterIP: clusterIP(i),
      ports: [{ name: 'http', port: 80, protocol: 'TCP', ...(nodePort ? { nodePort } : {}) }],
    },
  };
}

export function benchSlice(i: number, endpoints: number, generation = 0): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: `ns${i % 50}`, name: `svc-${i}-abc`, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: endpoints }, (_, j) => ({
      addresses: [podIP(i, j === 0 && generation > 0 ? MAX_ENDPOINTS_PER_SERVICE + (generation % 4) : j)],
      nodeName: j % 3 === 0 ? BENCH_NODE : 'other-node',
      conditions: { ready: true },
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

/** A tracker holding the whole workload, checked out once (the first full sync's input). */
export function buildWorkload(size: WorkloadSize): { tracker: ChangeTracker; checkout: Checkout } {
  const tracker = new ChangeTracker({ nodeName: BENCH_NODE });
  for (let i = 0; i < size.services; i++) {
    tracker.upsertService(benchService(i));
    tracker.upsertEndpointSlice(benchSlice(i, size.endpointsPerService));
  }
  tracker.setNode({ metadata: { name: BENCH_NODE }, status: { addresses: [{ type: 'InternalIP', address: '192.168.50.11' }] } });
  return { tracker, checkout: tracker.checkout() };
}

/** One endpoint of one service replaced (a pod rescheduled): the smallest real change. */
export function changeOneEndpoint(tracker: ChangeTracker, size: WorkloadSize, generation: number): Checkout {
  const i = Math.floor(size.services / 2);
  tracker.upsertEndpointSlice(benchSlice(i, size.endpointsPerService, generation));
  return tracker.checkout();
}

export function peakRssMiB(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

/** One new service with its endpoints (index `services + n`, so it never collides). */
export function addOneService(tracker: ChangeTracker, size: WorkloadSize, n: number): Checkout {
  const i = size.services + n;
  tracker.upsertService(benchService(i));
  tracker.upsertEndpointSlice(benchSlice(i, size.endpointsPerService));
  return tracker.checkout();
}

/** 1% churn: one endpoint replaced in every hundredth service (at least one), all in one sync. */
export function churnOnePercent(tracker: ChangeTracker, size: WorkloadSize, generation: number): Checkout {
  const count = Math.max(1, Math.floor(size.services / 100));
  const stride = Math.floor(size.services / count);
  for (let k = 0; k < count; k++) tracker.upsertEndpointSlice(benchSlice(k * stride, size.endpointsPerService, generation));
  return tracker.checkout();
}

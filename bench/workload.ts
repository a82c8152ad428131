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

/** Pod j of service i: unique across the cluster (10.64.0.0/10 holds 4M addresses). */
export function podIP(i: number, j: number): string {
  const n = i * 64 + j;
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
      addresses: [podIP(i, j === 0 && generation > 0 ? 60 + (generation % 4) : j)],
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

import type { Endpoint } from './endpoint.js';
import { usesClusterEndpoints, usesLocalEndpoints, type ServicePort } from './service-port.js';

export interface NodeTopology {
  readonly nodeName: string;
  /** `topology.kubernetes.io/zone` of this node, or '' when unlabelled. */
  readonly zone: string;
}

export interface TopologyOptions {
  /** The PreferSameTrafficDistribution feature gate (node hints); on by default since 1.34. */
  readonly preferSameNode: boolean;
}

export interface CategorizedEndpoints {
  /** Endpoints for traffic under the Cluster policy; empty when the service does not use it. */
  readonly clusterEndpoints: readonly Endpoint[];
  /** Endpoints for traffic under the Local policy; empty when the service does not use it. */
  readonly localEndpoints: readonly Endpoint[];
  /** The union of both, in sorted order: what affinity, conntrack and chain retention look at. */
  readonly allReachableEndpoints: readonly Endpoint[];
  /** False when no endpoint is usable at all: the service then rejects. */
  readonly hasAnyEndpoints: boolean;
}

type TopologyMode = 'none' | 'node' | 'zone';

function topologyMode(endpoints: readonly Endpoint[], node: NodeTopology, opts: TopologyOptions): TopologyMode {
  let hasReady = false;
  let allHaveNodeHints = true;
  let nodeHintForUs = false;
  let allHaveZoneHints = true;
  let zoneHintForUs = false;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    hasReady = true;
    if (ep.nodeHints === null || ep.nodeHints.length === 0) allHaveNodeHints = false;
    else if (ep.nodeHints.includes(node.nodeName)) nodeHintForUs = true;
    if (ep.zoneHints === null || ep.zoneHints.length === 0) allHaveZoneHints = false;
    else if (node.zone !== '' && ep.zoneHints.includes(node.zone)) zoneHintForUs = true;
  }
  if (!hasReady) return 'none';
  if (opts.preferSameNode && allHaveNodeHints && nodeHintForUs) return 'node';
  if (node.zone !== '' && allHaveZoneHints && zoneHintForUs) return 'zone';
  return 'none';
}

function passesTopology(ep: Endpoint, mode: TopologyMode, node: NodeTopology): boolean {
  if (mode === 'node') return ep.nodeHints?.includes(node.nodeName) ?? false;
  if (mode === 'zone') return ep.zoneHints?.includes(node.zone) ?? false;
  return true;
}

/**
 * Upstream's CategorizeEndpoints: topology hints narrow the cluster endpoints (only when every
 * ready endpoint is hinted and one hint is for us), Local policies ignore topology, and when no
 * endpoint is ready both fall back to serving-and-terminating ones.
 */
export function categorizeEndpoints(
  endpoints: readonly Endpoint[],
  sp: ServicePort,
  node: NodeTopology,
  opts: TopologyOptions,
): CategorizedEndpoints {
  let clusterEndpoints: Endpoint[] = [];
  let localEndpoints: Endpoint[] = [];
  let hasAnyEndpoints = false;

  if (usesClusterEndpoints(sp)) {
    const mode = topologyMode(endpoints, node, opts);
    clusterEndpoints = endpoints.filter((ep) => ep.ready && passesTopology(ep, mode, node));
    // Terminating fallback ignores topology: better any serving endpoint than none.
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }

  if (!usesLocalEndpoints(sp)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  }

  localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  if (localEndpoints.length === 0) localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  // A Local policy with endpoints elsewhere but none here is "no local endpoints" (DROP), not
  // "no endpoints" (REJECT), so any usable endpoint anywhere counts for hasAnyEndpoints.
  if (!hasAnyEndpoints && endpoints.some((ep) => ep.ready || (ep.serving && ep.terminating))) hasAnyEndpoints = true;

  if (!usesClusterEndpoints(sp)) {
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  }
  const seen = new Set(clusterEndpoints.map((ep) => ep.endpoint));
  const union = [...clusterEndpoints, ...localEndpoints.filter((ep) => !seen.has(ep.endpoint))];
  union.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
  return { clusterEndpoints, localEndpoints, allReachableEndpoints: union, hasAnyEndpoints };
}

import { LABEL_TOPOLOGY_ZONE, type Node } from './k8s.js';
import { canonicalIP, ipFamilyOf, type IPFamily } from './ip.js';

const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/** What the proxy takes from its own Node object. */
export interface NodeInfo {
  readonly name: string;
  /** False until the Node object has been seen. */
  readonly known: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** `topology.kubernetes.io/zone`, '' when absent. */
  readonly zone: string;
  /** InternalIP before ExternalIP, at most one per family (upstream's GetNodeHostIPs). */
  readonly addresses: Readonly<Partial<Record<IPFamily, string>>>;
  readonly podCIDRs: readonly string[];
  /** False when the node is being deleted or drained by the cluster autoscaler (KEP-3836). */
  readonly eligible: boolean;
}

export function nodeInfoFrom(node: Node): NodeInfo {
  const labels = node.metadata?.labels ?? {};
  const addresses: Partial<Record<IPFamily, string>> = {};
  const byType = node.status?.addresses ?? [];
  for (const type of ['InternalIP', 'ExternalIP']) {
    for (const a of byType) {
      if (a?.type !== type || typeof a.address !== 'string') continue;
      const ip = canonicalIP(a.address);
      const family = ip && ipFamilyOf(ip);
      if (ip && family && !addresses[family]) addresses[family] = ip;
    }
  }
  const podCIDRs = node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []);
  const tainted = (node.spec?.taints ?? []).some((t) => t?.key === TO_BE_DELETED_TAINT);
  return {
    name: node.metadata?.name ?? '',
    known: true,
    labels,
    zone: labels[LABEL_TOPOLOGY_ZONE] ?? '',
    addresses,
    podCIDRs,
    eligible: !node.metadata?.deletionTimestamp && !tainted,
  };
}

/** Before the Node object is seen: no labels, no addresses, no topology. */
export function unknownNode(name: string): NodeInfo {
  return { name, known: false, labels: {}, zone: '', addresses: {}, podCIDRs: [], eligible: true };
}

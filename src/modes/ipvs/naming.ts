import type { IPFamily } from '../../model/ip.js';

/** The dummy link that holds every ClusterIP, externalIP and LB IP, so the node accepts them as local. */
export const KUBE_IPVS_DEVICE = 'kube-ipvs0';

// Chains of IPVS mode (upstream's iptablesChains). Several share names with iptables mode.
export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_NODE_PORT = 'KUBE-NODE-PORT';
export const KUBE_LOAD_BALANCER = 'KUBE-LOAD-BALANCER';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_SOURCE_RANGES_FIREWALL = 'KUBE-SOURCE-RANGES-FIREWALL';
export const KUBE_IPVS_FILTER = 'KUBE-IPVS-FILTER';
export const KUBE_IPVS_OUT_FILTER = 'KUBE-IPVS-OUT-FILTER';

export const NAT_CHAINS: readonly string[] = [KUBE_SERVICES, KUBE_POSTROUTING, KUBE_NODE_PORT, KUBE_LOAD_BALANCER, KUBE_MARK_MASQ];
export const FILTER_CHAINS: readonly string[] = [
  KUBE_FORWARD,
  KUBE_NODE_PORT,
  KUBE_PROXY_FIREWALL,
  KUBE_SOURCE_RANGES_FIREWALL,
  KUBE_IPVS_FILTER,
  KUBE_IPVS_OUT_FILTER,
];

/** The scheduler upstream falls back to, and the test address of its scheduler probe (TEST-NET-2). */
export const DEFAULT_SCHEDULER = 'rr';
export const PROBE_VIRTUAL_SERVER = { address: '198.51.100.0', port: 20000 } as const;

/** ipset's limit on set names. */
const MAX_SET_NAME_LENGTH = 31;

/** The IPv6 proxier's sets are named `KUBE-6-...` (upstream's NewIPSet), cut to ipset's 31 characters. */
export function ipsetName(base: string, family: IPFamily): string {
  const name = family === 'IPv6' ? base.replace(/^KUBE-/, 'KUBE-6-') : base;
  return name.slice(0, MAX_SET_NAME_LENGTH);
}

import type { IptablesTable } from '../../kernel/iptables.js';
import {
  KUBE_FORWARD,
  KUBE_IPVS_FILTER,
  KUBE_IPVS_OUT_FILTER,
  KUBE_NODE_PORT,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
} from './naming.js';

/** A rule in a built-in chain that hooks one of IPVS mode's chains (upstream's iptablesJumpChain). */
export interface IpvsJumpRule {
  readonly table: IptablesTable;
  readonly from: string;
  readonly to: string;
  readonly comment: string;
  /** As given to `iptables -C/-I/-D`. */
  readonly args: readonly string[];
}

const jump = (table: IptablesTable, from: string, to: string, comment: string): IpvsJumpRule => ({
  table,
  from,
  to,
  comment,
  args: ['-m', 'comment', '--comment', comment, '-j', to],
});

/** Upstream's order; each is prepended when missing. */
export const IPVS_JUMP_RULES: readonly IpvsJumpRule[] = [
  jump('nat', 'OUTPUT', KUBE_SERVICES, 'kubernetes service portals'),
  jump('nat', 'PREROUTING', KUBE_SERVICES, 'kubernetes service portals'),
  jump('nat', 'POSTROUTING', KUBE_POSTROUTING, 'kubernetes postrouting rules'),
  jump('filter', 'FORWARD', KUBE_FORWARD, 'kubernetes forwarding rules'),
  jump('filter', 'INPUT', KUBE_NODE_PORT, 'kubernetes health check rules'),
  jump('filter', 'INPUT', KUBE_PROXY_FIREWALL, 'kube-proxy firewall rules'),
  jump('filter', 'FORWARD', KUBE_PROXY_FIREWALL, 'kube-proxy firewall rules'),
  jump('filter', 'INPUT', KUBE_IPVS_FILTER, 'kubernetes ipvs access filter'),
  jump('filter', 'OUTPUT', KUBE_IPVS_OUT_FILTER, 'kubernetes ipvs access filter'),
];

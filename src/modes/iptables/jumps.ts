import type { IptablesTable } from '../../kernel/iptables.js';
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
} from './naming.js';

/** A rule in a built-in chain that hooks one of our chains (upstream's iptablesJumpChains). */
export interface JumpRule {
  readonly table: IptablesTable;
  readonly from: string;
  readonly to: string;
  /** The rule's arguments as given to `iptables -C/-I/-D`. */
  readonly args: readonly string[];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

function jump(table: IptablesTable, from: string, to: string, comment: string | undefined, extra: readonly string[] = []): JumpRule {
  const args = [...extra];
  if (comment) args.push('-m', 'comment', '--comment', comment);
  args.push('-j', to);
  return { table, from, to, args };
}

/** The hooks of iptables mode, in upstream's order (each is prepended, so the last ends up first). */
export function iptablesJumpRules(localhostNodePorts: boolean): JumpRule[] {
  const rules = [
    jump('filter', 'INPUT', KUBE_EXTERNAL_SERVICES, 'kubernetes externally-visible service portals', NEW),
    jump('filter', 'FORWARD', KUBE_EXTERNAL_SERVICES, 'kubernetes externally-visible service portals', NEW),
    jump('filter', 'INPUT', KUBE_NODEPORTS, 'kubernetes health check service ports'),
    jump('filter', 'FORWARD', KUBE_SERVICES, 'kubernetes service portals', NEW),
    jump('filter', 'OUTPUT', KUBE_SERVICES, 'kubernetes service portals', NEW),
    jump('filter', 'FORWARD', KUBE_FORWARD, 'kubernetes forwarding rules'),
    jump('filter', 'INPUT', KUBE_PROXY_FIREWALL, 'kubernetes load balancer firewall', NEW),
    jump('filter', 'OUTPUT', KUBE_PROXY_FIREWALL, 'kubernetes load balancer firewall', NEW),
    jump('filter', 'FORWARD', KUBE_PROXY_FIREWALL, 'kubernetes load balancer firewall', NEW),
    jump('nat', 'OUTPUT', KUBE_SERVICES, 'kubernetes service portals'),
    jump('nat', 'PREROUTING', KUBE_SERVICES, 'kubernetes service portals'),
    jump('nat', 'POSTROUTING', KUBE_POSTROUTING, 'kubernetes postrouting rules'),
  ];
  if (localhostNodePorts) {
    // CVE-2020-8558: with route_localnet on, martian packets to 127/8 from outside are dropped.
    rules.push(jump('filter', 'INPUT', KUBE_FIREWALL, undefined), jump('filter', 'OUTPUT', KUBE_FIREWALL, undefined));
  }
  return rules;
}

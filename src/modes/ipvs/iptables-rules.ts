import type { IPFamily } from '../../model/ip.js';
import { ifNotLocal } from '../iptables/local-match.js';
import type { IpvsDesiredState, IpvsRuleConfig } from './desired.js';
import * as sets from './ipset-specs.js';
import { ipsetSpec } from './ipset-specs.js';
import {
  FILTER_CHAINS,
  ipsetName,
  KUBE_FORWARD,
  KUBE_IPVS_FILTER,
  KUBE_IPVS_OUT_FILTER,
  KUBE_LOAD_BALANCER,
  KUBE_MARK_MASQ,
  KUBE_NODE_PORT,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  KUBE_SOURCE_RANGES_FIREWALL,
  NAT_CHAINS,
} from './naming.js';

export interface IpvsIptablesRules {
  /** iptables-restore input: nat then filter, every chain declared (so rewritten) each time. */
  readonly text: string;
  readonly natRules: number;
  readonly filterRules: number;
}

/**
 * A set rule of upstream's ipsetWithIptablesChain: written only when the set has entries. The
 * order matters: each `*-LOCAL` RETURN must come before its masquerading counterpart.
 */
interface SetJump {
  readonly set: string;
  readonly table: 'nat' | 'filter';
  readonly from: string;
  readonly to: string;
  readonly match: string;
  readonly protocol?: string;
}

const SET_JUMPS: readonly SetJump[] = [
  { set: sets.LOOP_BACK, table: 'nat', from: KUBE_POSTROUTING, to: 'MASQUERADE', match: 'dst,dst,src' },
  { set: sets.LOAD_BALANCER, table: 'nat', from: KUBE_SERVICES, to: KUBE_LOAD_BALANCER, match: 'dst,dst' },
  { set: sets.LOAD_BALANCER_LOCAL, table: 'nat', from: KUBE_LOAD_BALANCER, to: 'RETURN', match: 'dst,dst' },
  { set: sets.NODE_PORT_LOCAL_TCP, table: 'nat', from: KUBE_NODE_PORT, to: 'RETURN', match: 'dst', protocol: 'tcp' },
  { set: sets.NODE_PORT_TCP, table: 'nat', from: KUBE_NODE_PORT, to: KUBE_MARK_MASQ, match: 'dst', protocol: 'tcp' },
  { set: sets.NODE_PORT_LOCAL_UDP, table: 'nat', from: KUBE_NODE_PORT, to: 'RETURN', match: 'dst', protocol: 'udp' },
  { set: sets.NODE_PORT_UDP, table: 'nat', from: KUBE_NODE_PORT, to: KUBE_MARK_MASQ, match: 'dst', protocol: 'udp' },
  { set: sets.NODE_PORT_LOCAL_SCTP, table: 'nat', from: KUBE_NODE_PORT, to: 'RETURN', match: 'dst,dst', protocol: 'sctp' },
  { set: sets.NODE_PORT_SCTP, table: 'nat', from: KUBE_NODE_PORT, to: KUBE_MARK_MASQ, match: 'dst,dst', protocol: 'sctp' },
  { set: sets.LOAD_BALANCER_FW, table: 'filter', from: KUBE_PROXY_FIREWALL, to: KUBE_SOURCE_RANGES_FIREWALL, match: 'dst,dst' },
  { set: sets.LOAD_BALANCER_SOURCE_CIDR, table: 'filter', from: KUBE_SOURCE_RANGES_FIREWALL, to: 'RETURN', match: 'dst,dst,src' },
  { set: sets.LOAD_BALANCER_SOURCE_IP, table: 'filter', from: KUBE_SOURCE_RANGES_FIREWALL, to: 'RETURN', match: 'dst,dst,src' },
];

/**
 * The iptables rules IPVS mode needs (upstream's writeIptablesRules, §4.6 of the reference), in
 * upstream's order. Pure: the desired state's ipset contents decide which set rules exist.
 */
export function generateIpvsIptablesRules(desired: IpvsDesiredState, config: IpvsRuleConfig): IpvsIptablesRules {
  const family = config.family;
  const nat: string[] = [];
  const filter: string[] = [];
  const name = (base: string): string => ipsetName(base, family);
  const comment = (base: string): string => `-m comment --comment "${ipsetSpec(base).comment}"`;
  const has = (base: string): boolean => (desired.ipsets.get(base)?.size ?? 0) > 0;
  const mark = config.masqueradeMark;

  nat.push(`-A ${KUBE_SERVICES} -s ${loopbackCIDR(family)} -j RETURN`);

  for (const j of SET_JUMPS) {
    if (!has(j.set)) continue;
    const protocol = j.protocol ? `-p ${j.protocol} ` : '';
    (j.table === 'nat' ? nat : filter).push(`-A ${j.from} ${protocol}${comment(j.set)} -m set --match-set ${name(j.set)} ${j.match} -j ${j.to}`);
  }

  if (has(sets.CLUSTER_IP)) {
    const prefix = `-A ${KUBE_SERVICES} ${comment(sets.CLUSTER_IP)} -m set --match-set ${name(sets.CLUSTER_IP)}`;
    if (config.masqueradeAll) nat.push(`${prefix} dst,dst -j ${KUBE_MARK_MASQ}`);
    // Off-cluster traffic to a VIP may be bridged to another node by a static route: masquerade it.
    else if (config.localDetector.kind !== 'none') nat.push(`${prefix} dst,dst ${ifNotLocal(config.localDetector)} -j ${KUBE_MARK_MASQ}`);
    // Without a detector, node-originated connections pick a VIP on kube-ipvs0 as their source.
    else nat.push(`${prefix} src,dst -j ${KUBE_MARK_MASQ}`);
  }

  const externalIPAccepts = (base: string): void => {
    const prefix = `-A ${KUBE_SERVICES} ${comment(base)} -m set --match-set ${name(base)} dst,dst`;
    // Roughly "traffic from off the machine", and traffic to addresses that are local anyway.
    nat.push(`${prefix} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    nat.push(`${prefix} -m addrtype --dst-type LOCAL -j ACCEPT`);
  };
  if (has(sets.EXTERNAL_IP)) {
    nat.push(`-A ${KUBE_SERVICES} ${comment(sets.EXTERNAL_IP)} -m set --match-set ${name(sets.EXTERNAL_IP)} dst,dst -j ${KUBE_MARK_MASQ}`);
    externalIPAccepts(sets.EXTERNAL_IP);
  }
  if (has(sets.EXTERNAL_IP_LOCAL)) externalIPAccepts(sets.EXTERNAL_IP_LOCAL);

  nat.push(`-A ${KUBE_SERVICES} -m addrtype --dst-type LOCAL -j ${KUBE_NODE_PORT}`);
  nat.push(`-A ${KUBE_LOAD_BALANCER} -j ${KUBE_MARK_MASQ}`);
  filter.push(`-A ${KUBE_SOURCE_RANGES_FIREWALL} -j DROP`);
  for (const e of desired.noNodeAccess) {
    filter.push(`-A ${KUBE_IPVS_OUT_FILTER} -s ${e.ip} -m ipvs --vaddr ${e.ip} --vproto ${e.protocol} --vport ${e.port} -j DROP`);
  }
  // Accept IPVS traffic in case other rules in KUBE-SERVICES' callers would block it; must stay last.
  for (const base of [sets.CLUSTER_IP, sets.LOAD_BALANCER]) {
    if (has(base)) nat.push(`-A ${KUBE_SERVICES} -m set --match-set ${name(base)} dst,dst -j ACCEPT`);
  }

  filter.push(`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.push(`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  filter.push(`-A ${KUBE_NODE_PORT} ${comment(sets.HEALTH_CHECK_NODE_PORT)} -m set --match-set ${name(sets.HEALTH_CHECK_NODE_PORT)} dst -j ACCEPT`);

  // No host port is reachable through a VIP: only the service ports are (kubernetes issue 72236).
  for (const base of [sets.LOAD_BALANCER, sets.CLUSTER_IP, sets.EXTERNAL_IP, sets.EXTERNAL_IP_LOCAL]) {
    filter.push(`-A ${KUBE_IPVS_FILTER} -m set --match-set ${name(base)} dst,dst -j RETURN`);
  }
  filter.push(`-A ${KUBE_IPVS_FILTER} -m set --match-set ${name(sets.HEALTH_CHECK_NODE_PORT)} dst -j RETURN`);
  filter.push(`-A ${KUBE_IPVS_FILTER} -m conntrack --ctstate NEW -m set --match-set ${name(sets.IPVS_IPS)} dst -j REJECT`);

  nat.push(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  nat.push(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`);
  nat.push(`-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${config.randomFully ? ' --random-fully' : ''}`);
  nat.push(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`);

  const table = (header: string, chains: readonly string[], rules: readonly string[]): string =>
    [`*${header}`, ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT', ''].join('\n');
  return {
    text: table('nat', NAT_CHAINS, nat) + table('filter', FILTER_CHAINS, filter),
    natRules: nat.length,
    filterRules: filter.length,
  };
}

export function loopbackCIDR(family: IPFamily): string {
  return family === 'IPv4' ? '127.0.0.0/8' : '::1/128';
}

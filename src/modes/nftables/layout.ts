/**
 * The fixed part of upstream's nftables layout (pkg/proxy/nftables, newest base chains): the
 * table, base chains and priorities, helper chains and their rules, and the sets and maps the
 * per-service code fills. Written on every full sync; partial syncs only touch elements and
 * per-service chains.
 */
import type { NftJsonStatement } from '../../kernel/nftables-json.js';
import type { IPFamily } from '../../model/ip.js';
import type { NodePortAddresses } from '../../model/nodeport-addresses.js';
import { isLoopback } from '../../model/ip.js';
import {
  addrType,
  cidrValue,
  ctStateNew,
  daddr,
  destinationKey,
  drop,
  fibDaddrLocal,
  ipKeyword,
  jump,
  mark,
  match,
  nodePortKey,
  reject,
  ret,
} from './expressions.js';
import type { BaseChainSpec, Transaction } from './transaction.js';

export const TABLE_NAME = 'kube-proxy';

// Base chains: named "${type}-${hook}", with "-pre-dnat" for the filter chains that must see
// the original destination.
export const FILTER_PREROUTING_PRE_DNAT = 'filter-prerouting-pre-dnat';
export const FILTER_OUTPUT_PRE_DNAT = 'filter-output-pre-dnat';
export const FILTER_INPUT = 'filter-input';
export const FILTER_FORWARD = 'filter-forward';
export const FILTER_OUTPUT = 'filter-output';
export const NAT_PREROUTING = 'nat-prerouting';
export const NAT_OUTPUT = 'nat-output';
export const NAT_POSTROUTING = 'nat-postrouting';

// Helper chains.
export const SERVICES_CHAIN = 'services';
export const SERVICE_ENDPOINTS_CHECK = 'service-endpoints-check';
export const NODEPORT_ENDPOINTS_CHECK = 'nodeport-endpoints-check';
export const FIREWALL_CHECK = 'firewall-check';
export const CLUSTER_IPS_CHECK = 'cluster-ips-check';
export const MARK_FOR_MASQUERADE = 'mark-for-masquerade';
export const MASQUERADING = 'masquerading';
export const REJECT_CHAIN = 'reject-chain';

// Sets and maps.
export const CLUSTER_IPS_SET = 'cluster-ips';
export const NODEPORT_IPS_SET = 'nodeport-ips';
export const SERVICE_IPS_MAP = 'service-ips';
export const SERVICE_NODEPORTS_MAP = 'service-nodeports';
export const FIREWALL_IPS_MAP = 'firewall-ips';
export const NO_ENDPOINT_SERVICES_MAP = 'no-endpoint-services';
export const NO_ENDPOINT_NODEPORTS_MAP = 'no-endpoint-nodeports';

/** The sets and maps whose elements are diffed from sync to sync (nodeport-ips is rewritten on full syncs). */
export const ELEMENT_CONTAINERS = [
  CLUSTER_IPS_SET,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
  FIREWALL_IPS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  NO_ENDPOINT_NODEPORTS_MAP,
] as const;
export type ElementContainer = (typeof ELEMENT_CONTAINERS)[number];

export function isMapContainer(name: ElementContainer): boolean {
  return name !== CLUSTER_IPS_SET;
}

/** dstnat is -100, srcnat 100; the pre-DNAT filter chains run at dstnat-10. */
export const BASE_CHAINS: ReadonlyArray<readonly [string, BaseChainSpec]> = [
  [FILTER_PREROUTING_PRE_DNAT, { type: 'filter', hook: 'prerouting', prio: -110 }],
  [FILTER_OUTPUT_PRE_DNAT, { type: 'filter', hook: 'output', prio: -110 }],
  [FILTER_INPUT, { type: 'filter', hook: 'input', prio: 0 }],
  [FILTER_FORWARD, { type: 'filter', hook: 'forward', prio: 0 }],
  [FILTER_OUTPUT, { type: 'filter', hook: 'output', prio: 0 }],
  [NAT_PREROUTING, { type: 'nat', hook: 'prerouting', prio: -100 }],
  [NAT_OUTPUT, { type: 'nat', hook: 'output', prio: -100 }],
  [NAT_POSTROUTING, { type: 'nat', hook: 'postrouting', prio: 100 }],
];

/**
 * Jumps from base chains to helper chains, in upstream's order (nftablesJumpChains). The
 * endpoint checks run at filter priority, after DNAT, so traffic already DNATed to a pod (the
 * ETP=Local short-circuits) is no longer matched by the "no endpoints" maps; reject is also only
 * valid in input/forward/output on older kernels.
 */
const JUMPS: ReadonlyArray<{ readonly to: string; readonly from: string; readonly newOnly: boolean }> = [
  { to: NODEPORT_ENDPOINTS_CHECK, from: FILTER_INPUT, newOnly: true },
  { to: SERVICE_ENDPOINTS_CHECK, from: FILTER_INPUT, newOnly: true },
  { to: SERVICE_ENDPOINTS_CHECK, from: FILTER_FORWARD, newOnly: true },
  { to: SERVICE_ENDPOINTS_CHECK, from: FILTER_OUTPUT, newOnly: true },
  { to: FIREWALL_CHECK, from: FILTER_PREROUTING_PRE_DNAT, newOnly: true },
  { to: FIREWALL_CHECK, from: FILTER_OUTPUT_PRE_DNAT, newOnly: true },
  { to: SERVICES_CHAIN, from: NAT_OUTPUT, newOnly: false },
  { to: SERVICES_CHAIN, from: NAT_PREROUTING, newOnly: false },
  { to: MASQUERADING, from: NAT_POSTROUTING, newOnly: false },
  { to: CLUSTER_IPS_CHECK, from: FILTER_FORWARD, newOnly: true },
  { to: CLUSTER_IPS_CHECK, from: FILTER_OUTPUT, newOnly: true },
];

/** The configuration the fixed layout depends on; a change in it needs a full sync. */
export interface LayoutConfig {
  readonly family: IPFamily;
  readonly masqueradeMark: number;
  readonly nodePortAddresses: NodePortAddresses;
  /** Service CIDRs of this family ("drop traffic to unallocated ClusterIPs"); empty when unknown. */
  readonly serviceCIDRs: readonly string[];
}

export interface LayoutResult {
  /** nodePortAddresses entries skipped because localhost NodePorts are not supported. */
  readonly skippedLoopbackNodePortIPs: readonly string[];
}

/**
 * Writes the fixed layout into a full-sync transaction (upstream's setupNFTables). On the first
 * sync after start, base chains are added and deleted once so that a previous version's chains
 * with other priorities are recreated rather than failing the transaction.
 *
 * Upstream gives the table, the reject chain and each set and map a comment ("rules for
 * kube-proxy", "Active ClusterIPs", ...). nft 1.0.6 silently drops comments on tables, chains
 * and sets in JSON input (rule and element comments work), while the native applier would
 * encode them: to keep both appliers' kernel state identical the document carries none.
 */
export function writeLayout(tx: Transaction, config: LayoutConfig, firstSync: boolean): LayoutResult {
  const ip = ipKeyword(config.family);
  const addr = addrType(config.family);
  const noLocalhost = match(daddr(ip), '!=', config.family === 'IPv4' ? cidrValue('127.0.0.0/8') : '::1');
  const matchAll = config.nodePortAddresses.matchAll;

  tx.addTable();

  if (firstSync) {
    for (const [name] of BASE_CHAINS) {
      tx.addChain(name);
      tx.deleteChain(name);
    }
  }
  for (const [name, spec] of BASE_CHAINS) {
    tx.addChain(name, spec);
    tx.flushChain(name);
  }

  const created = new Set<string>();
  const ensureChain = (name: string): void => {
    if (created.has(name)) return;
    created.add(name);
    tx.addChain(name);
    tx.flushChain(name);
  };
  for (const j of JUMPS) {
    ensureChain(j.to);
    tx.addRule(j.from, j.newOnly ? [ctStateNew, jump(j.to)] : [jump(j.to)]);
  }
  for (const name of [SERVICES_CHAIN, CLUSTER_IPS_CHECK, MASQUERADING, MARK_FOR_MASQUERADE]) ensureChain(name);

  const m = config.masqueradeMark;
  tx.addRule(MARK_FOR_MASQUERADE, [{ mangle: { key: mark, value: { '|': [mark, m] } } }]);
  tx.addRule(MASQUERADING, [match({ '&': [mark, m] }, '==', 0), ret]);
  tx.addRule(MASQUERADING, [{ mangle: { key: mark, value: { '^': [mark, m] } } }]);
  tx.addRule(MASQUERADING, [{ masquerade: { flags: ['fully-random'] } }]);

  tx.addSet(CLUSTER_IPS_SET, { type: addr });
  tx.addRule(CLUSTER_IPS_CHECK, [match(daddr(ip), '==', `@${CLUSTER_IPS_SET}`), reject], 'Reject traffic to invalid ports of ClusterIPs');
  if (config.serviceCIDRs.length > 0) {
    tx.addRule(
      CLUSTER_IPS_CHECK,
      [match(daddr(ip), '==', { set: config.serviceCIDRs.map(cidrValue) }), drop],
      'Drop traffic to unallocated ClusterIPs',
    );
  }

  // "add" then "delete" removes the set whether or not it existed: a bare delete of a missing
  // set would fail the whole transaction.
  tx.addSet(NODEPORT_IPS_SET, { type: addr });
  const skippedLoopbackNodePortIPs: string[] = [];
  if (matchAll) {
    tx.deleteSet(NODEPORT_IPS_SET);
  } else {
    tx.flushSet(NODEPORT_IPS_SET, false);
    const ips: string[] = [];
    for (const nodeIP of config.nodePortAddresses.ips) {
      if (isLoopback(nodeIP)) skippedLoopbackNodePortIPs.push(nodeIP);
      else ips.push(nodeIP);
    }
    tx.addElements(NODEPORT_IPS_SET, ips);
  }

  const serviceMapType = [addr, 'inet_proto', 'inet_service'];
  const nodePortMapType = ['inet_proto', 'inet_service'];
  tx.addSet(NO_ENDPOINT_SERVICES_MAP, { type: serviceMapType, map: 'verdict' });
  tx.addSet(NO_ENDPOINT_NODEPORTS_MAP, { type: nodePortMapType, map: 'verdict' });

  ensureChain(REJECT_CHAIN);
  tx.addRule(REJECT_CHAIN, [reject]);

  tx.addRule(SERVICE_ENDPOINTS_CHECK, [{ vmap: { key: destinationKey(ip), data: `@${NO_ENDPOINT_SERVICES_MAP}` } }]);
  const nodePortDestination: NftJsonStatement = matchAll ? noLocalhost : match(daddr(ip), '==', `@${NODEPORT_IPS_SET}`);
  tx.addRule(NODEPORT_ENDPOINTS_CHECK, [nodePortDestination, { vmap: { key: nodePortKey, data: `@${NO_ENDPOINT_NODEPORTS_MAP}` } }]);

  tx.addSet(FIREWALL_IPS_MAP, { type: serviceMapType, map: 'verdict' });
  tx.addRule(FIREWALL_CHECK, [{ vmap: { key: destinationKey(ip), data: `@${FIREWALL_IPS_MAP}` } }]);

  tx.addSet(SERVICE_IPS_MAP, { type: serviceMapType, map: 'verdict' });
  tx.addSet(SERVICE_NODEPORTS_MAP, { type: nodePortMapType, map: 'verdict' });
  tx.addRule(SERVICES_CHAIN, [{ vmap: { key: destinationKey(ip), data: `@${SERVICE_IPS_MAP}` } }]);
  tx.addRule(
    SERVICES_CHAIN,
    matchAll
      ? [fibDaddrLocal, noLocalhost, { vmap: { key: nodePortKey, data: `@${SERVICE_NODEPORTS_MAP}` } }]
      : [match(daddr(ip), '==', `@${NODEPORT_IPS_SET}`), { vmap: { key: nodePortKey, data: `@${SERVICE_NODEPORTS_MAP}` } }],
  );

  // The element maps are refilled by the per-service code: a full sync starts them empty.
  for (const name of [CLUSTER_IPS_SET, SERVICE_IPS_MAP, SERVICE_NODEPORTS_MAP, FIREWALL_IPS_MAP, NO_ENDPOINT_SERVICES_MAP, NO_ENDPOINT_NODEPORTS_MAP]) {
    tx.flushSet(name, name !== CLUSTER_IPS_SET);
  }
  return { skippedLoopbackNodePortIPs };
}

/** A short text that changes whenever the fixed layout would: compared to decide on a full sync. */
export function layoutFingerprint(config: LayoutConfig): string {
  return JSON.stringify([config.family, config.masqueradeMark, config.nodePortAddresses, config.serviceCIDRs]);
}

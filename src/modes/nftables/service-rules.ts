/**
 * Everything one service port puts into the table (upstream's per-service loop in
 * syncProxyRules): its map elements, always computed because element diffs need the whole
 * desired state, and its chains, affinity sets and rules, materialised only when the service
 * changed or the sync is full.
 */
import type { NftJsonExpr, NftJsonStatement } from '../../kernel/nftables-json.js';
import type { Endpoint } from '../../model/endpoint.js';
import { cidrContains, parseCIDR, type IPFamily } from '../../model/ip.js';
import type { LocalDetector } from '../../model/local-detector.js';
import type { ServicePort } from '../../model/service-port.js';
import { policyChains } from '../policy-chains.js';
import { categorizeEndpoints, type NodeTopology } from '../../model/topology.js';
import { verdictText, type ElementEntry } from './elements.js';
import {
  cidrValue,
  daddr,
  drop,
  dropVerdict,
  fibSaddrLocal,
  goto,
  gotoVerdict,
  ipKeyword,
  jump,
  l4proto,
  localTrafficMatch,
  match,
  saddr,
  type Verdict,
} from './expressions.js';
import {
  CLUSTER_IPS_SET,
  FIREWALL_IPS_MAP,
  MARK_FOR_MASQUERADE,
  NO_ENDPOINT_NODEPORTS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  REJECT_CHAIN,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
  type ElementContainer,
  type LayoutConfig,
} from './layout.js';
import type { NftablesNames } from './naming.js';

export interface NftablesRuleConfig extends LayoutConfig {
  readonly masqueradeAll: boolean;
  readonly localDetector: LocalDetector;
  /** The node's primary IP of this family: a node inside a source range may reach its LB IPs. */
  readonly nodeIP: string | undefined;
  readonly topology: NodeTopology;
  readonly preferSameNode: boolean;
}

export interface RuleSpec {
  readonly expr: readonly NftJsonStatement[];
  readonly comment?: string;
}

export interface ChainContent {
  readonly name: string;
  readonly rules: RuleSpec[];
}

export interface AffinitySetSpec {
  readonly name: string;
  readonly timeoutSeconds: number;
}

/** One element a service port puts into one of the diffed sets or maps. */
export interface ServiceElement {
  readonly container: ElementContainer;
  readonly keyText: string;
  readonly entry: ElementEntry;
}

/** The objects of one service port. `chains` and `affinitySets` are in creation order. */
export interface ServicePortObjects {
  readonly elements: readonly ServiceElement[];
  readonly chains: readonly string[];
  readonly affinitySets: readonly AffinitySetSpec[];
  /** Chain contents; undefined when the caller asked only for names (unchanged service). */
  readonly content: readonly ChainContent[] | undefined;
  readonly noLocalInternal: boolean;
  readonly noLocalExternal: boolean;
}

const REJECT_VERDICT = gotoVerdict(REJECT_CHAIN);

/** Computes one service port's objects; `write` says whether chain contents are needed. */
export function servicePortObjects(
  sp: ServicePort,
  endpoints: readonly Endpoint[],
  config: NftablesRuleConfig,
  names: NftablesNames,
  write: boolean,
): ServicePortObjects {
  const family: IPFamily = config.family;
  const ip = ipKeyword(family);
  const proto = sp.protocol.toLowerCase();
  const chains = names.service(sp);
  const { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints: hasEndpoints } = categorizeEndpoints(
    endpoints,
    sp,
    config.topology,
    { preferSameNode: config.preferSameNode },
  );

  const chainOrder: string[] = [];
  for (const ep of allReachableEndpoints) chainOrder.push(names.endpoint(sp, ep).chain);
  const affinitySets: AffinitySetSpec[] = sp.sessionAffinityClientIP
    ? allReachableEndpoints.map((ep) => ({ name: names.endpoint(sp, ep).affinitySet, timeoutSeconds: sp.stickyMaxAgeSeconds }))
    : [];

  const {
    usesClusterPolicyChain,
    usesLocalPolicyChain,
    internalPolicyChain: internalTrafficChain,
    hasInternalEndpoints,
    externalPolicyChain,
    hasExternalEndpoints,
    usesExternalChain,
  } = policyChains(sp, { cluster: clusterEndpoints, local: localEndpoints, any: hasEndpoints }, chains);
  if (usesClusterPolicyChain) chainOrder.push(chains.clusterPolicy);
  if (usesLocalPolicyChain) chainOrder.push(chains.localPolicy);
  if (usesExternalChain) chainOrder.push(chains.external);
  // Unlike iptables mode, source ranges are enforced even when the service has no endpoints.
  const usesFirewallChain = sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  if (usesFirewallChain) chainOrder.push(chains.firewall);

  let internalFilter: Verdict | undefined;
  let externalFilter: Verdict | undefined;
  let noLocalInternal = false;
  let noLocalExternal = false;
  if (!hasEndpoints) {
    internalFilter = externalFilter = REJECT_VERDICT;
  } else {
    if (!hasInternalEndpoints) {
      internalFilter = dropVerdict;
      noLocalInternal = true;
    }
    if (!hasExternalEndpoints) {
      externalFilter = dropVerdict;
      noLocalExternal = true;
    }
  }

  // Elements.
  const serviceKey = (addr: string): { text: string; json: NftJsonExpr } => ({
    text: `${addr} . ${proto} . ${sp.port}`,
    json: { concat: [addr, proto, sp.port] },
  });
  const elements: ServiceElement[] = [];
  const put = (container: ElementContainer, keyText: string, key: NftJsonExpr, verdict: Verdict | undefined, comment?: string): void => {
    const signature = verdict ? `${verdictText(verdict)}${comment !== undefined ? ` comment ${comment}` : ''}` : '';
    elements.push({
      container,
      keyText,
      entry: { key, signature, ...(verdict ? { verdict } : {}), ...(comment !== undefined ? { comment } : {}) },
    });
  };

  put(CLUSTER_IPS_SET, sp.clusterIP, sp.clusterIP, undefined);
  const clusterKey = serviceKey(sp.clusterIP);
  if (hasInternalEndpoints) put(SERVICE_IPS_MAP, clusterKey.text, clusterKey.json, gotoVerdict(internalTrafficChain));
  else put(NO_ENDPOINT_SERVICES_MAP, clusterKey.text, clusterKey.json, internalFilter, sp.spn);

  for (const extIP of sp.externalIPs) {
    const k = serviceKey(extIP);
    if (hasEndpoints) put(SERVICE_IPS_MAP, k.text, k.json, gotoVerdict(chains.external));
    if (externalFilter) put(NO_ENDPOINT_SERVICES_MAP, k.text, k.json, externalFilter, sp.spn);
  }
  for (const vip of sp.loadBalancerVIPs) {
    const k = serviceKey(vip);
    if (hasEndpoints) put(SERVICE_IPS_MAP, k.text, k.json, gotoVerdict(chains.external));
    if (usesFirewallChain) put(FIREWALL_IPS_MAP, k.text, k.json, gotoVerdict(chains.firewall));
    if (externalFilter) put(NO_ENDPOINT_SERVICES_MAP, k.text, k.json, externalFilter, sp.spn);
  }
  if (sp.nodePort !== 0) {
    const text = `${proto} . ${sp.nodePort}`;
    const json = { concat: [proto, sp.nodePort] };
    // NodePorts are not subject to loadBalancerSourceRanges (upstream cannot change that).
    if (hasEndpoints) put(SERVICE_NODEPORTS_MAP, text, json, gotoVerdict(chains.external));
    if (externalFilter) put(NO_ENDPOINT_NODEPORTS_MAP, text, json, externalFilter, sp.spn);
  }

  if (!write) return { elements, chains: chainOrder, affinitySets, content: undefined, noLocalInternal, noLocalExternal };

  // Chain contents, in upstream's order of writing.
  const content = new Map<string, RuleSpec[]>(chainOrder.map((c) => [c, []]));
  const rules = (chain: string): RuleSpec[] => content.get(chain)!;

  if (hasInternalEndpoints) {
    const toClusterIP = match(daddr(ip), '==', sp.clusterIP);
    if (config.masqueradeAll) {
      rules(internalTrafficChain).push({ expr: [toClusterIP, jump(MARK_FOR_MASQUERADE)] });
    } else {
      // Off-cluster traffic to a ClusterIP (a static route to the service range via any node)
      // may bounce to another node, so it is masqueraded.
      const notLocal = localTrafficMatch(config.localDetector, family, false);
      if (notLocal) rules(internalTrafficChain).push({ expr: [toClusterIP, notLocal, jump(MARK_FOR_MASQUERADE)] });
    }
  }

  if (usesExternalChain) {
    const ext = rules(chains.external);
    if (!sp.externalPolicyLocal) {
      ext.push({ expr: [jump(MARK_FOR_MASQUERADE)] });
    } else {
      // Pods reaching an external destination are treated as if they had gone out and come back
      // in, so they get any endpoint; the node itself needs masquerade because the VIP is local.
      const fromPod = localTrafficMatch(config.localDetector, family, true);
      if (fromPod) ext.push({ expr: [fromPod, goto(chains.clusterPolicy)], comment: 'short-circuit pod traffic' });
      ext.push({ expr: [fibSaddrLocal, jump(MARK_FOR_MASQUERADE)], comment: 'masquerade local traffic' });
      ext.push({ expr: [fibSaddrLocal, goto(chains.clusterPolicy)], comment: 'short-circuit local traffic' });
    }
    if (hasExternalEndpoints) ext.push({ expr: [goto(externalPolicyChain)] });
  }

  if (usesFirewallChain) {
    const sources = sp.loadBalancerSourceRanges.map(cidrValue);
    const nodeIP = config.nodeIP;
    const nodeInRange = nodeIP !== undefined && sp.loadBalancerSourceRanges.some((r) => {
      const cidr = parseCIDR(r);
      return cidr !== undefined && cidrContains(cidr, nodeIP);
    });
    // A VIP often is a local address too: the node's own request then loops back with the VIP
    // as source, which must pass when the node itself is allowed.
    if (nodeInRange) sources.push(...sp.loadBalancerVIPs);
    rules(chains.firewall).push({ expr: [match(saddr(ip), '!=', { set: sources }), drop] });
  }

  if (usesClusterPolicyChain) serviceToEndpointRules(rules(chains.clusterPolicy), sp, clusterEndpoints, names, ip);
  if (usesLocalPolicyChain) serviceToEndpointRules(rules(chains.localPolicy), sp, localEndpoints, names, ip);

  for (const ep of allReachableEndpoints) {
    const epNames = names.endpoint(sp, ep);
    const epRules = rules(epNames.chain);
    // Hairpin: a pod reaching itself through the service must see the node as source.
    epRules.push({ expr: [match(saddr(ip), '==', ep.ip), jump(MARK_FOR_MASQUERADE)] });
    if (sp.sessionAffinityClientIP) {
      epRules.push({ expr: [{ set: { op: 'update', elem: saddr(ip), set: `@${epNames.affinitySet}` } }] });
    }
    epRules.push({ expr: [match(l4proto, '==', proto), { dnat: { addr: ep.ip, port: ep.port } }] });
  }

  return {
    elements,
    chains: chainOrder,
    affinitySets,
    content: chainOrder.map((name) => ({ name, rules: content.get(name)! })),
    noLocalInternal,
    noLocalExternal,
  };
}

/** Affinity lookups first (a known client goes back to its endpoint), then random balancing. */
function serviceToEndpointRules(out: RuleSpec[], sp: ServicePort, endpoints: readonly Endpoint[], names: NftablesNames, ip: 'ip' | 'ip6'): void {
  if (sp.sessionAffinityClientIP) {
    for (const ep of endpoints) {
      const n = names.endpoint(sp, ep);
      out.push({ expr: [match(saddr(ip), '==', `@${n.affinitySet}`), goto(n.chain)] });
    }
  }
  const data = endpoints.map((ep, i) => [i, { goto: { target: names.endpoint(sp, ep).chain } }]);
  out.push({ expr: [{ vmap: { key: { numgen: { mode: 'random', mod: endpoints.length, offset: 0 } }, data: { set: data } } }] });
}

import type { Endpoint } from '../../model/endpoint.js';
import type { IPFamily } from '../../model/ip.js';
import { cidrContains, parseCIDR } from '../../model/ip.js';
import type { LocalDetector } from '../../model/local-detector.js';
import { ifLocal, ifNotLocal } from './local-match.js';
import type { NodePortAddresses } from '../../model/nodeport-addresses.js';
import type { ServicePort } from '../../model/service-port.js';
import { policyChains } from '../policy-chains.js';
import type { FamilySnapshot } from '../../model/snapshot.js';
import { categorizeEndpoints, type NodeTopology } from '../../model/topology.js';
import {
  ChainNames,
  isServiceChainName,
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
} from './naming.js';

/** Above this many endpoints in total, rule comments on endpoint rules are dropped (upstream). */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

export interface IptablesRuleConfig {
  readonly family: IPFamily;
  /** The mark as written in rules, e.g. "0x4000" (tests) or "0x00004000" (Go's %#08x). */
  readonly masqueradeMark: string;
  readonly masqueradeAll: boolean;
  readonly localDetector: LocalDetector;
  /** IPv4 only: NodePorts answer on 127.0.0.1 (route_localnet) when the addresses include loopback. */
  readonly localhostNodePorts: boolean;
  readonly nodePortAddresses: NodePortAddresses;
  /** The node's primary IP of this family, for the FW chain's "node inside a source range" case. */
  readonly nodeIP: string | undefined;
  /** iptables supports MASQUERADE --random-fully. */
  readonly randomFully: boolean;
  /** False when nf_conntrack_tcp_be_liberal is set: INVALID packets are then not dropped. */
  readonly dropInvalid: boolean;
  readonly topology: NodeTopology;
  readonly preferSameNode: boolean;
}

export interface IptablesSyncInput {
  readonly snapshot: FamilySnapshot;
  readonly config: IptablesRuleConfig;
  /** Services (`ns/name`) whose chains must be rewritten; undefined means a full sync. */
  readonly changedServices: ReadonlySet<string> | undefined;
  /** nat chains that exist in the kernel now; the stale KUBE-SVC/SEP/... among them are deleted. */
  readonly existingNatChains: Iterable<string> | undefined;
  readonly names: ChainNames;
}

/** The nat chains and rules one service port owns (its SVC/SVL/EXT/FW/SEP chains). */
export interface ServiceSection {
  readonly chains: readonly string[];
  readonly rules: readonly string[];
}

export interface IptablesRuleSet {
  /** The iptables-restore input: filter then nat, each ending in COMMIT. */
  readonly text: string;
  /** The same content split for a phased restore (see renderPhasedRestore). */
  readonly sections: {
    readonly filter: string;
    /** Top-level nat chains and rules, stale chain deletions, in one block. */
    readonly natTop: ServiceSection;
    /** Written service sections, in service order. */
    readonly services: readonly ServiceSection[];
  };
  readonly activeNatChains: ReadonlySet<string>;
  /** Rules written in this restore, per table (kubeproxy_sync_proxy_rules_iptables_last). */
  readonly rulesWritten: { readonly filter: number; readonly nat: number };
  /** All rules the proxy owns, including unchanged services' (kubeproxy_sync_proxy_rules_iptables_total). */
  readonly rulesTotal: { readonly filter: number; readonly nat: number };
  readonly largeClusterMode: boolean;
  readonly noLocalEndpoints: { readonly internal: number; readonly external: number };
  readonly staleChainsDeleted: number;
  /** Whether the filter KUBE-FIREWALL (localhost nodeport guard) is part of this rule set. */
  readonly localhostNodePortsActive: boolean;
}

/** One table's restore text: chain declarations first, then rules (iptables-restore requires it). */
class TableBuffer {
  readonly chains: string[] = [];
  readonly rules: string[] = [];
  ruleCount = 0;

  chain(name: string): void {
    this.chains.push(`:${name} - [0:0]`);
  }

  rule(line: string): void {
    this.rules.push(line);
    this.ruleCount++;
  }

  render(table: string): string {
    return `*${table}\n${this.chains.join('\n')}${this.chains.length ? '\n' : ''}${this.rules.join('\n')}${this.rules.length ? '\n' : ''}COMMIT\n`;
  }
}

/** Writes per-service chains, or only counts them for unchanged services in a partial sync. */
interface ServiceSink {
  chain(name: string): void;
  rule(line: string): void;
}

const probabilityCache = new Map<number, string>();

/** Go's `%0.10f` of 1/n; toFixed rounds the same exact binary value (ties cannot occur for 1/n). */
export function computeProbability(n: number): string {
  let p = probabilityCache.get(n);
  if (p === undefined) probabilityCache.set(n, (p = (1 / n).toFixed(10)));
  return p;
}

function quote(comment: string): string {
  return comment.includes(' ') ? `"${comment}"` : comment;
}

/** Whether localhost NodePorts are in force: IPv4 only, configured on, loopback among the addresses. */
export function localhostNodePortsActive(config: IptablesRuleConfig): boolean {
  if (config.family !== 'IPv4' || !config.localhostNodePorts) return false;
  const a = config.nodePortAddresses;
  return a.matchAll || a.ips.some((ip) => ip.startsWith('127.'));
}

/**
 * Generates the iptables-restore input for one family, as upstream's syncProxyRules writes it:
 * filter and nat top-level chains are rewritten on every sync; per-service chains only for
 * changed services (partial sync) or for all (full sync); stale service chains are deleted.
 * Pure: everything it needs comes in, the text comes out.
 */
export function generateIptablesRules(input: IptablesSyncInput): IptablesRuleSet {
  const { snapshot, config, changedServices, names } = input;
  const mark = config.masqueradeMark;
  const loopback = config.family === 'IPv4' ? '127.0.0.0/8' : '::1/128';
  const filter = new TableBuffer();
  const nat = new TableBuffer();
  const activeNatChains = new Set<string>();
  const localhostNodePorts = localhostNodePortsActive(config);

  for (const c of [KUBE_NODEPORTS, KUBE_SERVICES, KUBE_EXTERNAL_SERVICES]) filter.chain(c);
  if (localhostNodePorts) filter.chain(KUBE_FIREWALL);
  for (const c of [KUBE_FORWARD, KUBE_PROXY_FIREWALL]) filter.chain(c);
  for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) nat.chain(c);

  nat.rule(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  nat.rule(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`);
  nat.rule(`-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${config.randomFully ? ' --random-fully' : ''}`);
  nat.rule(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`);

  const servicePorts = snapshot.sortedServicePorts();
  let totalEndpoints = 0;
  for (const sp of servicePorts) totalEndpoints += snapshot.endpointsOf(sp).length;
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const comment = (text: string): string => (largeClusterMode ? '' : ` -m comment --comment ${quote(text)}`);

  let noLocalInternal = 0;
  let noLocalExternal = 0;
  const services: Array<{ chains: string[]; rules: string[] }> = [];
  let serviceRules = 0;
  let skippedRules = 0;
  let section = { chains: [] as string[], rules: [] as string[] };
  const writing: ServiceSink = {
    chain: (n) => section.chains.push(`:${n} - [0:0]`),
    rule: (l) => {
      section.rules.push(l);
      serviceRules++;
    },
  };
  const counting: ServiceSink = { chain: () => {}, rule: () => void skippedRules++ };

  for (const sp of servicePorts) {
    const proto = sp.protocol.toLowerCase();
    const spn = sp.spn;
    const chains = names.service(sp);
    const endpoints = snapshot.endpointsOf(sp);
    const { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints } = categorizeEndpoints(
      endpoints,
      sp,
      config.topology,
      { preferSameNode: config.preferSameNode },
    );
    const hasEndpoints = hasAnyEndpoints;
    const epChains = allReachableEndpoints.map((ep) => names.endpoint(sp, ep));
    for (const c of epChains) activeNatChains.add(c);

    const {
      usesClusterPolicyChain,
      usesLocalPolicyChain,
      internalPolicyChain,
      hasInternalEndpoints,
      externalPolicyChain,
      hasExternalEndpoints,
      usesExternalChain,
    } = policyChains(sp, { cluster: clusterEndpoints, local: localEndpoints, any: hasEndpoints }, chains);
    if (usesClusterPolicyChain) activeNatChains.add(chains.clusterPolicy);
    if (usesLocalPolicyChain) activeNatChains.add(chains.localPolicy);
    if (usesExternalChain) activeNatChains.add(chains.external);
    let loadBalancerChain = chains.external;
    const usesFirewallChain = hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    if (usesFirewallChain) {
      activeNatChains.add(chains.firewall);
      loadBalancerChain = chains.firewall;
    }

    let internalFilterTarget = '';
    let internalFilterComment = '';
    let externalFilterTarget = '';
    let externalFilterComment = '';
    if (!hasEndpoints) {
      internalFilterTarget = externalFilterTarget = 'REJECT';
      internalFilterComment = externalFilterComment = `"${spn} has no endpoints"`;
    } else {
      if (!hasInternalEndpoints) {
        internalFilterTarget = 'DROP';
        internalFilterComment = `"${spn} has no local endpoints"`;
        noLocalInternal++;
      }
      if (!hasExternalEndpoints) {
        externalFilterTarget = 'DROP';
        externalFilterComment = `"${spn} has no local endpoints"`;
        noLocalExternal++;
      }
    }

    const match = `-m ${proto} -p ${proto}`;
    const clusterIPMatch = `${match} -d ${sp.clusterIP} --dport ${sp.port}`;
    if (hasInternalEndpoints) {
      nat.rule(`-A ${KUBE_SERVICES} -m comment --comment "${spn} cluster IP" ${clusterIPMatch} -j ${internalPolicyChain}`);
    } else {
      filter.rule(`-A ${KUBE_SERVICES} -m comment --comment ${internalFilterComment} ${clusterIPMatch} -j ${internalFilterTarget}`);
    }
    for (const ip of sp.externalIPs) {
      if (hasEndpoints) {
        nat.rule(`-A ${KUBE_SERVICES} -m comment --comment "${spn} external IP" ${match} -d ${ip} --dport ${sp.port} -j ${chains.external}`);
      }
      if (!hasExternalEndpoints) {
        filter.rule(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} ${match} -d ${ip} --dport ${sp.port} -j ${externalFilterTarget}`);
      }
    }
    for (const ip of sp.loadBalancerVIPs) {
      if (hasEndpoints) {
        nat.rule(`-A ${KUBE_SERVICES} -m comment --comment "${spn} loadbalancer IP" ${match} -d ${ip} --dport ${sp.port} -j ${loadBalancerChain}`);
      }
      if (usesFirewallChain) {
        filter.rule(`-A ${KUBE_PROXY_FIREWALL} -m comment --comment "${spn} traffic not accepted by ${chains.firewall}" ${match} -d ${ip} --dport ${sp.port} -j DROP`);
      }
    }
    if (!hasExternalEndpoints) {
      for (const ip of sp.loadBalancerVIPs) {
        filter.rule(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} ${match} -d ${ip} --dport ${sp.port} -j ${externalFilterTarget}`);
      }
    }
    if (sp.nodePort !== 0) {
      if (hasEndpoints) {
        // NodePorts are not subject to loadBalancerSourceRanges (upstream cannot change that).
        nat.rule(`-A ${KUBE_NODEPORTS} -m comment --comment ${spn} ${match} --dport ${sp.nodePort} -j ${chains.external}`);
      }
      if (!hasExternalEndpoints) {
        filter.rule(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m addrtype --dst-type LOCAL ${match} --dport ${sp.nodePort} -j ${externalFilterTarget}`);
      }
    }
    if (sp.healthCheckNodePort !== 0) {
      filter.rule(`-A ${KUBE_NODEPORTS} -m comment --comment "${spn} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`);
    }

    // Unchanged services keep their chains as they are in the kernel; they are only counted.
    const sink = changedServices === undefined || changedServices.has(sp.serviceName) ? writing : counting;
    if (sink === writing) services.push((section = { chains: [], rules: [] }));

    if (hasInternalEndpoints) {
      const base = `-A ${internalPolicyChain} -m comment --comment "${spn} cluster IP" ${clusterIPMatch}`;
      if (config.masqueradeAll) sink.rule(`${base} -j ${KUBE_MARK_MASQ}`);
      else if (config.localDetector.kind !== 'none') sink.rule(`${base} ${ifNotLocal(config.localDetector)} -j ${KUBE_MARK_MASQ}`);
    }

    if (usesExternalChain) {
      const ext = chains.external;
      sink.chain(ext);
      if (!sp.externalPolicyLocal) {
        sink.rule(`-A ${ext} -m comment --comment "masquerade traffic for ${spn} external destinations" -j ${KUBE_MARK_MASQ}`);
      } else {
        // Pods reaching an external destination are treated as if they had gone out and come
        // back, so they get any endpoint; the node itself needs masquerade (the VIP is local).
        if (config.localDetector.kind !== 'none') {
          sink.rule(`-A ${ext} -m comment --comment "pod traffic for ${spn} external destinations" ${ifLocal(config.localDetector)} -j ${chains.clusterPolicy}`);
        }
        sink.rule(`-A ${ext} -m comment --comment "masquerade LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`);
        sink.rule(`-A ${ext} -m comment --comment "route LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j ${chains.clusterPolicy}`);
      }
      if (hasExternalEndpoints) sink.rule(`-A ${ext} -j ${externalPolicyChain}`);
    }

    if (usesFirewallChain) {
      const fw = chains.firewall;
      sink.chain(fw);
      const head = `-A ${fw} -m comment --comment "${spn} loadbalancer IP"`;
      let allowFromNode = false;
      for (const range of sp.loadBalancerSourceRanges) {
        sink.rule(`${head} -s ${range} -j ${chains.external}`);
        const cidr = parseCIDR(range);
        if (cidr && config.nodeIP && cidrContains(cidr, config.nodeIP)) allowFromNode = true;
      }
      // Node traffic to a VIP that is also a local address loops back with the VIP as source.
      if (allowFromNode) for (const ip of sp.loadBalancerVIPs) sink.rule(`${head} -s ${ip} -j ${chains.external}`);
      sink.rule(`-A ${fw} -m comment --comment "other traffic to ${spn} will be dropped by KUBE-PROXY-FIREWALL"`);
    }

    if (usesClusterPolicyChain) {
      sink.chain(chains.clusterPolicy);
      writeServiceToEndpointRules(sink, sp, chains.clusterPolicy, clusterEndpoints, names, comment);
    }
    if (usesLocalPolicyChain) {
      sink.chain(chains.localPolicy);
      writeServiceToEndpointRules(sink, sp, chains.localPolicy, localEndpoints, names, comment);
    }
    for (const [i, ep] of allReachableEndpoints.entries()) {
      const sep = epChains[i]!;
      sink.chain(sep);
      const c = comment(spn);
      sink.rule(`-A ${sep}${c} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`);
      const affinity = sp.sessionAffinityClientIP ? ` -m recent --name ${sep} --set` : '';
      sink.rule(`-A ${sep}${c}${affinity} ${match} -j DNAT --to-destination ${ep.endpoint}`);
    }
  }

  let staleChainsDeleted = 0;
  if (input.existingNatChains) {
    for (const chain of input.existingNatChains) {
      if (activeNatChains.has(chain) || !isServiceChainName(chain)) continue;
      // Declaring the chain flushes it; only then can it be deleted.
      nat.chain(chain);
      nat.rule(`-X ${chain}`);
      staleChainsDeleted++;
    }
  }

  // The jump to KUBE-NODEPORTS must be the last rule of KUBE-SERVICES.
  const nodePortComment = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
  if (config.nodePortAddresses.matchAll) {
    let dst = '-m addrtype --dst-type LOCAL';
    if (config.family === 'IPv6') dst += ' ! -d ::1/128';
    else if (!localhostNodePorts) dst += ` ! -d ${loopback}`;
    nat.rule(`-A ${KUBE_SERVICES} -m comment --comment ${nodePortComment} ${dst} -j ${KUBE_NODEPORTS}`);
  } else {
    for (const ip of config.nodePortAddresses.ips) {
      const isLoop = config.family === 'IPv6' ? ip === '::1' : ip.startsWith('127.');
      // Loopback NodePorts never work on IPv6 and are off unless localhost nodeports are enabled.
      if (isLoop && !localhostNodePorts) continue;
      nat.rule(`-A ${KUBE_SERVICES} -m comment --comment ${nodePortComment} -d ${ip} -j ${KUBE_NODEPORTS}`);
    }
  }

  if (localhostNodePorts) {
    filter.rule(`-A ${KUBE_FIREWALL} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`);
  }
  if (config.dropInvalid) filter.rule(`-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID -j DROP`);
  filter.rule(`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.rule(`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);

  const filterText = filter.render('filter');
  const natTop = { chains: nat.chains, rules: nat.rules };
  const natText = [
    '*nat',
    ...nat.chains,
    ...services.flatMap((x) => x.chains),
    ...nat.rules,
    ...services.flatMap((x) => x.rules),
    'COMMIT',
    '',
  ].join('\n');
  const natRules = nat.ruleCount - staleChainsDeleted + serviceRules;
  return {
    text: filterText + natText,
    sections: { filter: filterText, natTop, services },
    activeNatChains,
    rulesWritten: { filter: filter.ruleCount, nat: natRules },
    rulesTotal: { filter: filter.ruleCount, nat: natRules + skippedRules },
    largeClusterMode,
    noLocalEndpoints: { internal: noLocalInternal, external: noLocalExternal },
    staleChainsDeleted,
    localhostNodePortsActive: localhostNodePorts,
  };
}

function writeServiceToEndpointRules(
  sink: ServiceSink,
  sp: ServicePort,
  chain: string,
  endpoints: readonly Endpoint[],
  names: ChainNames,
  comment: (text: string) => string,
): void {
  if (sp.sessionAffinityClientIP) {
    for (const ep of endpoints) {
      const sep = names.endpoint(sp, ep);
      sink.rule(`-A ${chain}${comment(`${sp.spn} -> ${ep.endpoint}`)} -m recent --name ${sep} --rcheck --seconds ${sp.stickyMaxAgeSeconds} --reap -j ${sep}`);
    }
  }
  const n = endpoints.length;
  for (const [i, ep] of endpoints.entries()) {
    const sep = names.endpoint(sp, ep);
    const stat = i < n - 1 ? ` -m statistic --mode random --probability ${computeProbability(n - i)}` : '';
    sink.rule(`-A ${chain}${comment(`${sp.spn} -> ${ep.endpoint}`)}${stat} -j ${sep}`);
  }
}

/**
 * The same rule set as several restores: per-service chains in batches of at most
 * `maxChainsPerRestore` chains first, then one restore with the filter table, the nat top-level
 * chains (which start referencing new service chains only here) and the stale-chain deletions.
 * iptables-nft's restore slows down with the square of the chains declared in one run
 * (11k chains: ~18 s in one run, ~2 s in batches), so large syncs are cut; each batch only adds
 * or rewrites chains nothing points to yet, or rewrites a service's own chains in place, so
 * traffic never sees a dangling jump, and a failure leaves the previous dispatch in force.
 */
export function renderPhasedRestore(ruleSet: IptablesRuleSet, maxChainsPerRestore: number): string[] {
  const restores: string[] = [];
  let chains: string[] = [];
  let rules: string[] = [];
  const flush = (): void => {
    if (chains.length === 0 && rules.length === 0) return;
    restores.push(['*nat', ...chains, ...rules, 'COMMIT', ''].join('\n'));
    chains = [];
    rules = [];
  };
  for (const section of ruleSet.sections.services) {
    if (chains.length > 0 && chains.length + section.chains.length > maxChainsPerRestore) flush();
    chains.push(...section.chains);
    rules.push(...section.rules);
  }
  flush();
  const top = ruleSet.sections.natTop;
  restores.push(ruleSet.sections.filter + ['*nat', ...top.chains, ...top.rules, 'COMMIT', ''].join('\n'));
  return restores;
}

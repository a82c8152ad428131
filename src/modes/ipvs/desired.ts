import type { Endpoint } from '../../model/endpoint.js';
import { cidrContains, joinHostPort, parseCIDR, type IPFamily } from '../../model/ip.js';
import type { LocalDetector } from '../../model/local-detector.js';
import type { Protocol, ServicePort } from '../../model/service-port.js';
import type { FamilySnapshot } from '../../model/snapshot.js';
import { categorizeEndpoints, type NodeTopology } from '../../model/topology.js';
import * as sets from './ipset-specs.js';
import { IPSET_SPECS, ipsetEntry } from './ipset-specs.js';

/** IP_VS_SVC_F_PERSISTENT: ClientIP session affinity. */
export const FLAG_PERSISTENT = 0x1;
/** IP_VS_SVC_F_HASHED: set by the kernel on every listed service; never part of a comparison. */
export const FLAG_HASHED = 0x2;
/** IP_VS_SVC_F_SCHED2, which upstream names FlagSourceHash: the `mh` scheduler hashes ports too. */
export const FLAG_SOURCE_HASH = 0x10;

export interface IpvsRuleConfig {
  readonly family: IPFamily;
  readonly scheduler: string;
  /** The mark as written in rules, e.g. "0x4000" (tests) or "0x00004000" (Go's %#08x). */
  readonly masqueradeMark: string;
  readonly masqueradeAll: boolean;
  readonly localDetector: LocalDetector;
  /** iptables supports MASQUERADE --random-fully. */
  readonly randomFully: boolean;
  /** The node's primary IP: a source range that contains it lets the node reach the LB IP. */
  readonly nodeIP: string | undefined;
  /** The addresses NodePort virtual servers listen on (upstream's nodeIPs). */
  readonly nodePortIPs: readonly string[];
  /** Local addresses not on kube-ipvs0: an externalIP or LB IP among them is not bound again. */
  readonly nodeAddresses: ReadonlySet<string>;
  readonly topology: NodeTopology;
  readonly preferSameNode: boolean;
}

export interface DesiredRealServer {
  readonly address: string;
  readonly port: number;
  /** `ip:port` (`[ip]:port` for IPv6). */
  readonly key: string;
}

export type VirtualServerRole = 'clusterIP' | 'externalIP' | 'loadBalancer' | 'nodePort';

export interface DesiredVirtualServer {
  /** `ip:port/PROTOCOL`, upstream's VirtualServer.String(). */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly scheduler: string;
  readonly flags: number;
  /** Persistence timeout in seconds; 0 without ClientIP affinity. */
  readonly timeout: number;
  readonly role: VirtualServerRole;
  readonly servicePortKey: string;
  /** `ns/name`: the unit of change tracking. */
  readonly serviceName: string;
  /** Sorted by `ip:port`, weight 1 each. */
  readonly realServers: readonly DesiredRealServer[];
}

/** A load balancer IP whose source ranges exclude the node: node-originated access is dropped. */
export interface NoNodeAccessEntry {
  readonly ip: string;
  readonly protocol: string;
  readonly port: number;
}

export interface IpvsDesiredState {
  readonly family: IPFamily;
  /** By key, in service-port order. */
  readonly virtualServers: ReadonlyMap<string, DesiredVirtualServer>;
  /** Addresses kube-ipvs0 must hold (sorted); also the content of KUBE-IPVS-IPS. */
  readonly boundAddresses: readonly string[];
  /** Entries per set, keyed by the IPv4 spelling of the set name. */
  readonly ipsets: ReadonlyMap<string, ReadonlySet<string>>;
  readonly noNodeAccess: readonly NoNodeAccessEntry[];
  readonly noLocalEndpoints: { readonly internal: number; readonly external: number };
  /** Service ports that asked for a virtual server another service port already has (the first wins). */
  readonly conflicts: readonly string[];
}

export const virtualServerKey = (address: string, port: number, protocol: string): string => `${joinHostPort(address, port)}/${protocol}`;

/**
 * The whole IPVS desired state of one family, as upstream's syncProxyRules builds it: one virtual
 * server per ClusterIP, externalIP, LB IP and node IP (NodePorts) of every service port, real
 * servers from the categorized endpoints (Local policies use the local endpoints, or the cluster
 * endpoints when there are none, so pods can still reach the service: upstream PR 97081), the
 * addresses kube-ipvs0 must hold, and the ipset entries the iptables rules match on.
 */
export function buildIpvsDesiredState(snapshot: FamilySnapshot, config: IpvsRuleConfig): IpvsDesiredState {
  const builder = new DesiredStateBuilder(config);
  for (const sp of snapshot.sortedServicePorts()) builder.addServicePort(sp, snapshot.endpointsOf(sp));
  return builder.finish();
}

class DesiredStateBuilder {
  private readonly virtualServers = new Map<string, DesiredVirtualServer>();
  private readonly bound = new Set<string>();
  private readonly entries = new Map<string, Set<string>>(IPSET_SPECS.map((s) => [s.base, new Set<string>()]));
  private readonly noNodeAccess: NoNodeAccessEntry[] = [];
  private readonly noLocalInternal = new Set<string>();
  private readonly noLocalExternal = new Set<string>();
  private readonly conflicts: string[] = [];

  constructor(private readonly config: IpvsRuleConfig) {}

  private add(set: string, entry: string): void {
    this.entries.get(set)!.add(entry);
  }

  addServicePort(sp: ServicePort, endpoints: readonly Endpoint[]): void {
    const protocol = sp.protocol.toLowerCase();
    const categorized = categorizeEndpoints(endpoints, sp, this.config.topology, { preferSameNode: this.config.preferSameNode });
    const realServersFor = (onlyNodeLocal: boolean): DesiredRealServer[] => {
      let chosen = categorized.clusterEndpoints;
      if (onlyNodeLocal) {
        if (categorized.localEndpoints.length > 0) chosen = categorized.localEndpoints;
        else {
          if (categorized.hasAnyEndpoints && sp.internalPolicyLocal) this.noLocalInternal.add(sp.serviceName);
          if (categorized.hasAnyEndpoints && sp.externalPolicyLocal) this.noLocalExternal.add(sp.serviceName);
        }
      }
      return realServers(chosen);
    };

    // Hairpin: a local endpoint reaching itself through the service is masqueraded.
    for (const ep of endpoints) {
      if (ep.isLocal) this.add(sets.LOOP_BACK, ipsetEntry.ipPortIp(ep.ip, protocol, ep.port, ep.ip));
    }

    this.add(sets.CLUSTER_IP, ipsetEntry.ipPort(sp.clusterIP, protocol, sp.port));
    this.virtualServer(sp, 'clusterIP', sp.clusterIP, sp.port, realServersFor(sp.internalPolicyLocal), true);

    for (const ip of sp.externalIPs) {
      this.add(sp.externalPolicyLocal ? sets.EXTERNAL_IP_LOCAL : sets.EXTERNAL_IP, ipsetEntry.ipPort(ip, protocol, sp.port));
      this.virtualServer(sp, 'externalIP', ip, sp.port, realServersFor(sp.externalPolicyLocal), !this.config.nodeAddresses.has(ip));
    }

    for (const ip of sp.loadBalancerVIPs) {
      const entry = ipsetEntry.ipPort(ip, protocol, sp.port);
      this.add(sets.LOAD_BALANCER, entry);
      if (sp.externalPolicyLocal) this.add(sets.LOAD_BALANCER_LOCAL, entry);
      if (sp.loadBalancerSourceRanges.length > 0) {
        this.add(sets.LOAD_BALANCER_FW, entry);
        let allowFromNode = false;
        for (const range of sp.loadBalancerSourceRanges) {
          this.add(sets.LOAD_BALANCER_SOURCE_CIDR, ipsetEntry.ipPortNet(ip, protocol, sp.port, range));
          const cidr = parseCIDR(range);
          if (cidr && this.config.nodeIP && cidrContains(cidr, this.config.nodeIP)) allowFromNode = true;
        }
        // Something on the node (a cloud route) may send node traffic to the LB IP from the LB IP itself.
        if (allowFromNode) this.add(sets.LOAD_BALANCER_SOURCE_IP, ipsetEntry.ipPortIp(ip, protocol, sp.port, ip));
        else this.noNodeAccess.push({ ip, protocol, port: sp.port });
      }
      this.virtualServer(sp, 'loadBalancer', ip, sp.port, realServersFor(sp.externalPolicyLocal), !this.config.nodeAddresses.has(ip));
    }

    if (sp.nodePort !== 0 && this.config.nodePortIPs.length > 0) {
      const local = sp.externalPolicyLocal;
      if (sp.protocol === 'SCTP') {
        // bitmap:port has no protocol dimension beyond its name, and there is no SCTP bitmap set.
        for (const nodeIP of this.config.nodePortIPs) {
          const entry = ipsetEntry.ipPort(nodeIP, protocol, sp.nodePort);
          this.add(sets.NODE_PORT_SCTP, entry);
          if (local) this.add(sets.NODE_PORT_LOCAL_SCTP, entry);
        }
      } else {
        const [all, localSet] = sp.protocol === 'TCP' ? [sets.NODE_PORT_TCP, sets.NODE_PORT_LOCAL_TCP] : [sets.NODE_PORT_UDP, sets.NODE_PORT_LOCAL_UDP];
        this.add(all, ipsetEntry.port(sp.nodePort));
        if (local) this.add(localSet, ipsetEntry.port(sp.nodePort));
      }
      for (const nodeIP of this.config.nodePortIPs) {
        this.virtualServer(sp, 'nodePort', nodeIP, sp.nodePort, realServersFor(local), false);
      }
    }

    if (sp.healthCheckNodePort !== 0) this.add(sets.HEALTH_CHECK_NODE_PORT, ipsetEntry.port(sp.healthCheckNodePort));
  }

  private virtualServer(sp: ServicePort, role: VirtualServerRole, address: string, port: number, realServers: DesiredRealServer[], bind: boolean): void {
    const key = virtualServerKey(address, port, sp.protocol);
    if (this.virtualServers.has(key)) {
      this.conflicts.push(`${sp.spn} ${role} ${key}`);
      return;
    }
    let flags = 0;
    let timeout = 0;
    if (sp.sessionAffinityClientIP) {
      flags |= FLAG_PERSISTENT;
      timeout = sp.stickyMaxAgeSeconds;
    }
    if (this.config.scheduler === 'mh') flags |= FLAG_SOURCE_HASH;
    this.virtualServers.set(key, {
      key,
      address,
      port,
      protocol: sp.protocol,
      scheduler: this.config.scheduler,
      flags,
      timeout,
      role,
      servicePortKey: sp.key,
      serviceName: sp.serviceName,
      realServers,
    });
    if (bind) this.bound.add(address);
  }

  finish(): IpvsDesiredState {
    const boundAddresses = [...this.bound].sort();
    for (const ip of boundAddresses) this.add(sets.IPVS_IPS, ipsetEntry.ip(ip));
    return {
      family: this.config.family,
      virtualServers: this.virtualServers,
      boundAddresses,
      ipsets: this.entries,
      noNodeAccess: this.noNodeAccess,
      noLocalEndpoints: { internal: this.noLocalInternal.size, external: this.noLocalExternal.size },
      conflicts: this.conflicts,
    };
  }
}

function realServers(endpoints: readonly Endpoint[]): DesiredRealServer[] {
  return endpoints.map((ep) => ({ address: ep.ip, port: ep.port, key: ep.endpoint }));
}

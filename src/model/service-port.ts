import type { Service } from './k8s.js';
import { canonicalIP, ipFamilyOf, parseCIDR, IP_FAMILIES, type IPFamily } from './ip.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
const PROTOCOLS: ReadonlySet<string> = new Set(['TCP', 'UDP', 'SCTP']);

/** Default ClientIP affinity timeout (3 hours), as the API server defaults it. */
export const DEFAULT_STICKY_MAX_AGE_SECONDS = 10800;
/** A Service with more ports than this is rejected rather than turned into a huge rule set. */
export const MAX_PORTS_PER_SERVICE = 1000;
const MAX_ADDRESSES_PER_LIST = 1000;

/**
 * One port of one Service for one IP family: upstream's ServicePortInfo. Immutable; two values
 * with the same content mean "no change".
 */
export interface ServicePort {
  /** Unique key: `ns/name:portName/PROTOCOL` (upstream's ServicePortName struct). */
  readonly key: string;
  /** `ns/name`, the unit of change tracking. */
  readonly serviceName: string;
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  /** Upstream's ServicePortName.String(): `ns/name:portName`, or `ns/name` for an unnamed port. */
  readonly spn: string;
  readonly protocol: Protocol;
  readonly family: IPFamily;
  readonly clusterIP: string;
  readonly port: number;
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  readonly loadBalancerVIPs: readonly string[];
  /** Canonical CIDR text, this family only. */
  readonly loadBalancerSourceRanges: readonly string[];
  readonly sessionAffinityClientIP: boolean;
  readonly stickyMaxAgeSeconds: number;
  /** Non-zero only for LoadBalancer services with externalTrafficPolicy Local. */
  readonly healthCheckNodePort: number;
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
}

export function servicePortKey(namespace: string, name: string, portName: string, protocol: string): string {
  return `${namespace}/${name}:${portName}/${protocol}`;
}

export function externallyAccessible(sp: ServicePort): boolean {
  return sp.nodePort !== 0 || sp.loadBalancerVIPs.length > 0 || sp.externalIPs.length > 0;
}

/** An ETP=Local service still needs cluster endpoints for the pod and host short-circuits. */
export function usesClusterEndpoints(sp: ServicePort): boolean {
  return !sp.internalPolicyLocal || externallyAccessible(sp);
}

export function usesLocalEndpoints(sp: ServicePort): boolean {
  return sp.internalPolicyLocal || (sp.externalPolicyLocal && externallyAccessible(sp));
}

export type ServiceParseResult =
  | { readonly kind: 'ports'; readonly ports: Readonly<Record<IPFamily, readonly ServicePort[]>> }
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'invalid'; readonly reason: string };

const NO_PORTS: Readonly<Record<IPFamily, readonly ServicePort[]>> = { IPv4: [], IPv6: [] };

function isPort(value: unknown, allowZero: boolean): value is number {
  return Number.isInteger(value) && (value as number) <= 65535 && (value as number) >= (allowZero ? 0 : 1);
}

/** Validates a list of addresses; returns canonical forms or the first bad entry. */
function canonicalAddresses(list: unknown, what: string): { ips: string[] } | { error: string } {
  if (list === undefined || list === null) return { ips: [] };
  if (!Array.isArray(list)) return { error: `${what} is not a list` };
  if (list.length > MAX_ADDRESSES_PER_LIST) return { error: `${what} has ${list.length} entries (limit ${MAX_ADDRESSES_PER_LIST})` };
  const ips: string[] = [];
  for (const entry of list) {
    const ip = typeof entry === 'string' ? canonicalIP(entry.trim()) : undefined;
    if (!ip) return { error: `${what} has an invalid IP ${JSON.stringify(entry)}` };
    ips.push(ip);
  }
  return { ips };
}

const onlyFamily = (ips: readonly string[], family: IPFamily): string[] => ips.filter((ip) => ipFamilyOf(ip) === family);

/**
 * Turns a Service into its service ports per IP family, exactly as upstream's
 * newBaseServiceInfo: headless and ExternalName services are ignored, a family without a
 * ClusterIP gets no ports, externalIPs / LB VIPs / source ranges are split by family. Anything
 * malformed makes the whole Service invalid: half a Service would program wrong rules.
 */
export function parseService(svc: Service): ServiceParseResult {
  const namespace = svc.metadata?.namespace ?? 'default';
  const name = svc.metadata?.name;
  if (!name) return { kind: 'invalid', reason: 'metadata.name is missing' };
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  if (type === 'ExternalName') return { kind: 'ignored', reason: 'ExternalName service' };
  if (!['ClusterIP', 'NodePort', 'LoadBalancer'].includes(type)) {
    return { kind: 'invalid', reason: `spec.type ${JSON.stringify(type)} is not a service type` };
  }
  const primary = spec.clusterIP;
  if (primary === undefined || primary === '' || primary === 'None') return { kind: 'ignored', reason: 'headless service' };

  const primaryIP = canonicalIP(primary);
  if (!primaryIP) return { kind: 'invalid', reason: `spec.clusterIP ${JSON.stringify(primary)} is not an IP` };
  const clusterIPs = canonicalAddresses(spec.clusterIPs ?? [primary], 'spec.clusterIPs');
  if ('error' in clusterIPs) return { kind: 'invalid', reason: clusterIPs.error };
  const families = spec.ipFamilies ?? [];
  if (!Array.isArray(families) || families.some((f) => f !== 'IPv4' && f !== 'IPv6')) {
    return { kind: 'invalid', reason: `spec.ipFamilies ${JSON.stringify(families)} is not a list of IPv4/IPv6` };
  }

  const externalIPs = canonicalAddresses(spec.externalIPs, 'spec.externalIPs');
  if ('error' in externalIPs) return { kind: 'invalid', reason: externalIPs.error };

  // Only ingress points with an IP in VIP mode (or no mode) are proxied; "Proxy" mode means the
  // load balancer delivers to the node and the proxy must not capture the address.
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  if (!Array.isArray(ingress)) return { kind: 'invalid', reason: 'status.loadBalancer.ingress is not a list' };
  const vipCandidates = ingress.filter((i) => i && i.ip && (i.ipMode === undefined || i.ipMode === null || i.ipMode === 'VIP')).map((i) => i.ip);
  const lbVIPs = canonicalAddresses(vipCandidates, 'status.loadBalancer.ingress');
  if ('error' in lbVIPs) return { kind: 'invalid', reason: lbVIPs.error };

  const rangesIn = spec.loadBalancerSourceRanges ?? [];
  if (!Array.isArray(rangesIn) || rangesIn.length > MAX_ADDRESSES_PER_LIST) {
    return { kind: 'invalid', reason: 'spec.loadBalancerSourceRanges is not a list of CIDRs' };
  }
  const ranges = [];
  for (const r of rangesIn) {
    const cidr = typeof r === 'string' ? parseCIDR(r) : undefined;
    if (!cidr || (typeof r === 'string' && !r.includes('/'))) {
      return { kind: 'invalid', reason: `spec.loadBalancerSourceRanges has an invalid CIDR ${JSON.stringify(r)}` };
    }
    ranges.push(cidr);
  }

  const affinityClientIP = spec.sessionAffinity === 'ClientIP';
  if (spec.sessionAffinity !== undefined && spec.sessionAffinity !== 'None' && !affinityClientIP) {
    return { kind: 'invalid', reason: `spec.sessionAffinity ${JSON.stringify(spec.sessionAffinity)} is not None or ClientIP` };
  }
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_STICKY_MAX_AGE_SECONDS;
  if (affinityClientIP && (!Number.isInteger(timeout) || timeout < 1 || timeout > 86400)) {
    return { kind: 'invalid', reason: `sessionAffinityConfig.clientIP.timeoutSeconds ${timeout} is outside 1..86400` };
  }

  const externalPolicyLocal = (type === 'NodePort' || type === 'LoadBalancer') && spec.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = spec.internalTrafficPolicy === 'Local';
  const hcnp = spec.healthCheckNodePort ?? 0;
  if (!isPort(hcnp, true)) return { kind: 'invalid', reason: `spec.healthCheckNodePort ${JSON.stringify(hcnp)} is not a port` };
  const healthCheckNodePort = type === 'LoadBalancer' && externalPolicyLocal ? hcnp : 0;

  const specPorts = spec.ports ?? [];
  if (!Array.isArray(specPorts)) return { kind: 'invalid', reason: 'spec.ports is not a list' };
  if (specPorts.length > MAX_PORTS_PER_SERVICE) {
    return { kind: 'invalid', reason: `spec.ports has ${specPorts.length} entries (limit ${MAX_PORTS_PER_SERVICE})` };
  }
  const seen = new Set<string>();
  for (const p of specPorts) {
    const protocol = p?.protocol ?? 'TCP';
    if (!PROTOCOLS.has(protocol)) return { kind: 'invalid', reason: `port ${JSON.stringify(p?.name ?? '')} has protocol ${JSON.stringify(protocol)}` };
    if (!isPort(p.port, false)) return { kind: 'invalid', reason: `port ${JSON.stringify(p.name ?? '')} has port ${JSON.stringify(p.port)}` };
    if (!isPort(p.nodePort ?? 0, true)) return { kind: 'invalid', reason: `port ${JSON.stringify(p.name ?? '')} has nodePort ${JSON.stringify(p.nodePort)}` };
    if (p.name !== undefined && typeof p.name !== 'string') return { kind: 'invalid', reason: 'a port name is not a string' };
    const key = `${p.name ?? ''}/${protocol}`;
    if (seen.has(key)) return { kind: 'invalid', reason: `port ${JSON.stringify(p.name ?? '')}/${protocol} appears twice` };
    seen.add(key);
  }

  const perFamily = {} as Record<IPFamily, ServicePort[]>;
  for (const family of IP_FAMILIES) {
    perFamily[family] = [];
    let clusterIP: string | undefined;
    if (families.length > 0) {
      const idx = families.indexOf(family);
      clusterIP = idx >= 0 ? clusterIPs.ips[idx] : undefined;
    } else if (ipFamilyOf(primaryIP) === family) {
      clusterIP = primaryIP;
    }
    if (!clusterIP || ipFamilyOf(clusterIP) !== family) continue;
    const ext = onlyFamily(externalIPs.ips, family);
    const vips = onlyFamily(lbVIPs.ips, family);
    const famRanges = ranges.filter((c) => c.family === family).map((c) => c.text);
    for (const p of specPorts) {
      const portName = p.name ?? '';
      const protocol = (p.protocol ?? 'TCP') as Protocol;
      const spn = portName ? `${namespace}/${name}:${portName}` : `${namespace}/${name}`;
      perFamily[family].push({
        key: servicePortKey(namespace, name, portName, protocol),
        serviceName: `${namespace}/${name}`,
        namespace,
        name,
        portName,
        spn,
        protocol,
        family,
        clusterIP,
        port: p.port!,
        nodePort: p.nodePort ?? 0,
        externalIPs: ext,
        loadBalancerVIPs: vips,
        loadBalancerSourceRanges: famRanges,
        sessionAffinityClientIP: affinityClientIP,
        stickyMaxAgeSeconds: affinityClientIP ? timeout : 0,
        healthCheckNodePort,
        externalPolicyLocal,
        internalPolicyLocal,
      });
    }
  }
  if (perFamily.IPv4.length === 0 && perFamily.IPv6.length === 0) return { kind: 'ports', ports: NO_PORTS };
  return { kind: 'ports', ports: perFamily };
}

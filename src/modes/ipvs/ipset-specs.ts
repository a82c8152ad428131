import type { IPFamily } from '../../model/ip.js';
import { ipsetName } from './naming.js';

export type IpsetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';

/** One of IPVS mode's sets: upstream name (IPv4 spelling), type and the comment its iptables rules carry. */
export interface IpsetSpec {
  readonly base: string;
  readonly type: IpsetType;
  readonly comment: string;
}

export const LOOP_BACK = 'KUBE-LOOP-BACK';
export const CLUSTER_IP = 'KUBE-CLUSTER-IP';
export const EXTERNAL_IP = 'KUBE-EXTERNAL-IP';
export const EXTERNAL_IP_LOCAL = 'KUBE-EXTERNAL-IP-LOCAL';
export const LOAD_BALANCER = 'KUBE-LOAD-BALANCER';
export const LOAD_BALANCER_FW = 'KUBE-LOAD-BALANCER-FW';
export const LOAD_BALANCER_LOCAL = 'KUBE-LOAD-BALANCER-LOCAL';
export const LOAD_BALANCER_SOURCE_IP = 'KUBE-LOAD-BALANCER-SOURCE-IP';
export const LOAD_BALANCER_SOURCE_CIDR = 'KUBE-LOAD-BALANCER-SOURCE-CIDR';
export const NODE_PORT_TCP = 'KUBE-NODE-PORT-TCP';
export const NODE_PORT_LOCAL_TCP = 'KUBE-NODE-PORT-LOCAL-TCP';
export const NODE_PORT_UDP = 'KUBE-NODE-PORT-UDP';
export const NODE_PORT_LOCAL_UDP = 'KUBE-NODE-PORT-LOCAL-UDP';
export const NODE_PORT_SCTP = 'KUBE-NODE-PORT-SCTP-HASH';
export const NODE_PORT_LOCAL_SCTP = 'KUBE-NODE-PORT-LOCAL-SCTP-HASH';
export const HEALTH_CHECK_NODE_PORT = 'KUBE-HEALTH-CHECK-NODE-PORT';
export const IPVS_IPS = 'KUBE-IPVS-IPS';

/** Upstream's ipsetInfo, in its order, with its exact comments. */
export const IPSET_SPECS: readonly IpsetSpec[] = [
  { base: LOOP_BACK, type: 'hash:ip,port,ip', comment: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose' },
  { base: CLUSTER_IP, type: 'hash:ip,port', comment: 'Kubernetes service cluster ip + port for masquerade purpose' },
  { base: EXTERNAL_IP, type: 'hash:ip,port', comment: 'Kubernetes service external ip + port for masquerade and filter purpose' },
  { base: EXTERNAL_IP_LOCAL, type: 'hash:ip,port', comment: 'Kubernetes service external ip + port with externalTrafficPolicy=local' },
  { base: LOAD_BALANCER, type: 'hash:ip,port', comment: 'Kubernetes service lb portal' },
  { base: LOAD_BALANCER_FW, type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port for load balancer with sourceRange' },
  { base: LOAD_BALANCER_LOCAL, type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local' },
  { base: LOAD_BALANCER_SOURCE_IP, type: 'hash:ip,port,ip', comment: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose' },
  { base: LOAD_BALANCER_SOURCE_CIDR, type: 'hash:ip,port,net', comment: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose' },
  { base: NODE_PORT_TCP, type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port for masquerade purpose' },
  { base: NODE_PORT_LOCAL_TCP, type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local' },
  { base: NODE_PORT_UDP, type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port for masquerade purpose' },
  { base: NODE_PORT_LOCAL_UDP, type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local' },
  { base: NODE_PORT_SCTP, type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'" },
  { base: NODE_PORT_LOCAL_SCTP, type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'" },
  { base: HEALTH_CHECK_NODE_PORT, type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  { base: IPVS_IPS, type: 'hash:ip', comment: 'Addresses on the ipvs interface' },
];

const SPEC_BY_BASE = new Map(IPSET_SPECS.map((s) => [s.base, s]));

export function ipsetSpec(base: string): IpsetSpec {
  const spec = SPEC_BY_BASE.get(base);
  if (!spec) throw new Error(`unknown IPVS ipset ${base}`);
  return spec;
}

/** Every set name one family's proxier owns (cleanup destroys the names of both families). */
export function ownedSetNames(family: IPFamily): string[] {
  return IPSET_SPECS.map((s) => ipsetName(s.base, family));
}

/**
 * The `create` arguments upstream passes (ipset util's CreateSet): hash types get the family and
 * upstream's default sizes, bitmap:port the whole port range. The comment lives only in rules.
 */
export function createArguments(spec: IpsetSpec, family: IPFamily): string[] {
  if (spec.type === 'bitmap:port') return [spec.type, 'range', '0-65535'];
  return [spec.type, 'family', family === 'IPv4' ? 'inet' : 'inet6', 'hashsize', '1024', 'maxelem', '65536'];
}

/** Entry texts in the form `ipset save` prints them back, so a diff against the kernel is exact. */
export const ipsetEntry = {
  ip: (ip: string): string => ip,
  ipPort: (ip: string, protocol: string, port: number): string => `${ip},${protocol.toLowerCase()}:${port}`,
  ipPortIp: (ip: string, protocol: string, port: number, ip2: string): string => `${ip},${protocol.toLowerCase()}:${port},${ip2}`,
  /** ipset prints a host-length net without its prefix; upstream's `/32` form would never compare equal. */
  ipPortNet: (ip: string, protocol: string, port: number, cidr: string): string => {
    const hostLength = cidr.includes(':') ? '/128' : '/32';
    const bare = cidr.endsWith(hostLength) ? cidr.slice(0, -hostLength.length) : cidr;
    return `${ip},${protocol.toLowerCase()}:${port},${bare}`;
  },
  port: (port: number): string => String(port),
};

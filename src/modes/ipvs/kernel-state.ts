import type { IpvsDestinationInfo, IpvsServiceInfo, IpvsServiceKey } from '../../kernel/netlink.js';
import { canonicalIP, joinHostPort, type IPFamily } from '../../model/ip.js';
import type { Protocol } from '../../model/service-port.js';
import { virtualServerKey } from './desired.js';

export const IPPROTO: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };
const PROTOCOL_BY_NUMBER = new Map<number, Protocol>(Object.entries(IPPROTO).map(([name, n]) => [n, name as Protocol]));

export const familyNumber = (family: IPFamily): 2 | 10 => (family === 'IPv4' ? 2 : 10);

/** The key of a listed virtual server, or undefined for what IPVS mode never makes (fwmark, odd protocols). */
export function listedServiceKey(s: IpvsServiceInfo): string | undefined {
  if (s.fwmark !== undefined || s.address === undefined || s.port === undefined || s.protocol === undefined) return undefined;
  const protocol = PROTOCOL_BY_NUMBER.get(s.protocol);
  const address = canonicalIP(s.address);
  return protocol && address ? virtualServerKey(address, s.port, protocol) : undefined;
}

export function protocolOf(s: IpvsServiceInfo): Protocol | undefined {
  return s.protocol === undefined ? undefined : PROTOCOL_BY_NUMBER.get(s.protocol);
}

/** What identifies a virtual server in every IPVS request. */
export function serviceKeyOf(family: IPFamily, address: string, port: number, protocol: Protocol): IpvsServiceKey {
  return { family: familyNumber(family), protocol: IPPROTO[protocol], address, port };
}

export const destinationKey = (d: Pick<IpvsDestinationInfo, 'address' | 'port'>): string => joinHostPort(canonicalIP(d.address) ?? d.address, d.port);

/** One family's IPVS as read from the kernel: services by key, and the destinations of those listed. */
export interface KernelIpvsState {
  readonly services: ReadonlyMap<string, IpvsServiceInfo>;
  /** Only for the virtual servers whose destinations were read this sync. */
  readonly destinations: ReadonlyMap<string, readonly IpvsDestinationInfo[]>;
}

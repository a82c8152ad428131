import type { AddressInfo, AddressOperation } from '../../kernel/netlink.js';
import { canonicalIP, ipFamilyOf, isLinkLocalIPv6, isLoopback, type IPFamily } from '../../model/ip.js';
import type { NodePortAddresses } from '../../model/nodeport-addresses.js';
import { KUBE_IPVS_DEVICE } from './naming.js';

export interface AddressPlan {
  readonly bind: readonly AddressOperation[];
  readonly unbind: readonly AddressOperation[];
}

/** Binds what kube-ipvs0 lacks and unbinds what it should not hold, for one family (/32 or /128). */
export function planAddresses(family: IPFamily, desired: readonly string[], bound: readonly string[]): AddressPlan {
  const prefixLen = family === 'IPv4' ? 32 : 128;
  const have = new Set(bound.filter((ip) => ipFamilyOf(ip) === family));
  const want = new Set(desired);
  // The dummy link stays down; IPv6 addresses must not wait for duplicate detection that never ends.
  const noDad = family === 'IPv6' ? { noDad: true } : {};
  return {
    bind: [...want].filter((ip) => !have.has(ip)).map((address) => ({ op: 'add', link: KUBE_IPVS_DEVICE, address, prefixLen, ...noDad })),
    unbind: [...have].filter((ip) => !want.has(ip)).map((address) => ({ op: 'delete', link: KUBE_IPVS_DEVICE, address, prefixLen })),
  };
}

/** Canonical addresses of one family from a listing, split into kube-ipvs0's and everything else's. */
export function splitLocalAddresses(list: readonly AddressInfo[], family: IPFamily, dummyIndex: number | undefined): { dummy: string[]; node: string[] } {
  const dummy: string[] = [];
  const node: string[] = [];
  for (const a of list) {
    const ip = canonicalIP(a.address);
    if (!ip || ipFamilyOf(ip) !== family) continue;
    (a.index === dummyIndex ? dummy : node).push(ip);
  }
  return { dummy, node };
}

/**
 * The addresses NodePort virtual servers listen on: every local address but loopback and IPv6
 * link-local when nodePortAddresses match all, otherwise the matching addresses minus loopback.
 */
export function nodePortIPs(nodePortAddresses: NodePortAddresses, nodeAddresses: readonly string[]): string[] {
  const candidates = nodePortAddresses.matchAll ? nodeAddresses.filter((ip) => !isLinkLocalIPv6(ip)) : nodePortAddresses.ips;
  return [...new Set(candidates.filter((ip) => !isLoopback(ip)))].sort();
}

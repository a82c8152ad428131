import { cidrContains, isLoopback, parseCIDR, type CIDR, type IPFamily } from './ip.js';

/** Which local addresses accept NodePort traffic, for one family. */
export type NodePortAddresses =
  | { readonly matchAll: true }
  | { readonly matchAll: false; readonly ips: readonly string[] };

/**
 * Upstream's NodePortAddresses: an empty list (or 0.0.0.0/0, ::/0) matches every local address;
 * otherwise the local addresses inside the CIDRs, plus the primary node IP for `primary`.
 * nftables mode treats an empty list as `primary` (its caller passes ['primary']).
 */
export function resolveNodePortAddresses(
  config: readonly string[],
  family: IPFamily,
  primaryNodeIP: string | undefined,
  localAddresses: readonly string[],
): NodePortAddresses {
  const cidrs: CIDR[] = [];
  let primary = false;
  for (const entry of config) {
    if (entry === 'primary') {
      primary = true;
      continue;
    }
    const cidr = parseCIDR(entry);
    if (!cidr || cidr.family !== family) continue;
    if (cidr.prefixLength === 0) return { matchAll: true };
    cidrs.push(cidr);
  }
  if (!primary && cidrs.length === 0) {
    // Only CIDRs of the other family were given: nothing of ours matches.
    return config.length === 0 ? { matchAll: true } : { matchAll: false, ips: [] };
  }
  const ips = new Set<string>();
  if (primary && primaryNodeIP) ips.add(primaryNodeIP);
  for (const ip of localAddresses) if (cidrs.some((c) => cidrContains(c, ip))) ips.add(ip);
  return { matchAll: false, ips: [...ips].sort() };
}

export function includesLoopback(addresses: NodePortAddresses): boolean {
  return addresses.matchAll || addresses.ips.some(isLoopback);
}

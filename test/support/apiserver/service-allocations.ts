import { isIP } from 'node:net';

/**
 * ClusterIP and NodePort allocation the way the real API server does it for Services that do
 * not ask for specific values: the first free address of the service CIDR (skipping the network
 * address), the first free port of the NodePort range. Deterministic, so tests can predict them.
 */

export type IpFamily = 'IPv4' | 'IPv6';

export interface ServiceCidrs {
  IPv4: string;
  IPv6: string;
}

export const DEFAULT_SERVICE_CIDRS: ServiceCidrs = { IPv4: '10.96.0.0/12', IPv6: 'fd00:10:96::/112' };
export const NODE_PORT_RANGE = { first: 30000, last: 32767 } as const;

function ipv4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((acc, octet) => (acc << 8n) + BigInt(Number(octet)), 0n);
}

function bigIntToIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
}

function expandIpv6(ip: string): string[] {
  const [head = '', tail] = ip.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headParts.length - tailParts.length;
  return [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailParts];
}

function ipv6ToBigInt(ip: string): bigint {
  return expandIpv6(ip).reduce((acc, group) => (acc << 16n) + BigInt(parseInt(group, 16)), 0n);
}

function bigIntToIpv6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  // Compress the longest run of zero groups, as every IPv6 printer does.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

export function familyOf(ip: string): IpFamily | undefined {
  const version = isIP(ip);
  if (version === 4) return 'IPv4';
  if (version === 6) return 'IPv6';
  return undefined;
}

/** Normalised text of an address, so "fd00::0001" and "fd00::1" count as the same allocation. */
export function canonicalIp(ip: string): string {
  const family = familyOf(ip);
  if (family === 'IPv4') return bigIntToIpv4(ipv4ToBigInt(ip));
  if (family === 'IPv6') return bigIntToIpv6(ipv6ToBigInt(ip));
  return ip;
}

export function allocateClusterIp(cidr: string, family: IpFamily, inUse: ReadonlySet<string>): string | undefined {
  const [base = '', prefixText = '0'] = cidr.split('/');
  const bits = family === 'IPv4' ? 32n : 128n;
  const prefix = BigInt(Number(prefixText));
  const size = 1n << (bits - prefix);
  const toBig = family === 'IPv4' ? ipv4ToBigInt : ipv6ToBigInt;
  const toText = family === 'IPv4' ? bigIntToIpv4 : bigIntToIpv6;
  const network = (toBig(base) >> (bits - prefix)) << (bits - prefix);
  // Bounded: tests use a handful of Services, and a /12 is far larger than needed.
  const limit = size < 65536n ? size : 65536n;
  for (let offset = 1n; offset < limit - (family === 'IPv4' ? 1n : 0n); offset++) {
    const candidate = toText(network + offset);
    if (!inUse.has(candidate)) return candidate;
  }
  return undefined;
}

export function allocateNodePort(inUse: ReadonlySet<number>): number | undefined {
  for (let port: number = NODE_PORT_RANGE.first; port <= NODE_PORT_RANGE.last; port++) {
    if (!inUse.has(port)) return port;
  }
  return undefined;
}

import { isIP } from 'node:net';

export type IpFamily = 'IPv4' | 'IPv6';

/** A value per IP family; a family is absent when the lab does not use it. */
export type PerFamily<T> = Partial<Record<IpFamily, T>>;

export interface Cidr {
  readonly family: IpFamily;
  /** The network address as an integer (host bits cleared). */
  readonly base: bigint;
  readonly prefix: number;
}

const BITS: Record<IpFamily, number> = { IPv4: 32, IPv6: 128 };

export function familyOf(ip: string): IpFamily {
  const v = isIP(ip);
  if (v === 4) return 'IPv4';
  if (v === 6) return 'IPv6';
  throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
}

export function ipToBigInt(ip: string): bigint {
  const family = familyOf(ip);
  if (family === 'IPv4') {
    return ip.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
  }
  // Expand "::" into the missing zero groups; an embedded IPv4 tail becomes two groups.
  let text = ip;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail?.[1]) {
    const n = ipToBigInt(v4Tail[1]);
    text = text.slice(0, -v4Tail[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function bigIntToIp(value: bigint, family: IpFamily): string {
  if (family === 'IPv4') {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  return compressV6(groups);
}

/** RFC 5952 text: the longest run (of two or more) of zero groups becomes "::", as `ip` prints it. */
function compressV6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function parseCidr(text: string): Cidr {
  const [ip, prefixText] = text.split('/');
  if (!ip || prefixText === undefined || !/^\d+$/.test(prefixText)) throw new Error(`not a CIDR: ${JSON.stringify(text)}`);
  const family = familyOf(ip);
  const prefix = Number(prefixText);
  if (prefix > BITS[family]) throw new Error(`prefix too long in ${JSON.stringify(text)}`);
  const hostBits = BigInt(BITS[family] - prefix);
  return { family, prefix, base: (ipToBigInt(ip) >> hostBits) << hostBits };
}

export function formatCidr(cidr: Cidr): string {
  return `${bigIntToIp(cidr.base, cidr.family)}/${cidr.prefix}`;
}

export function hostCount(cidr: Cidr): bigint {
  return 1n << BigInt(BITS[cidr.family] - cidr.prefix);
}

/** The address `offset` places after the network address, e.g. (10.244.1.0/24, 5) -> 10.244.1.5. */
export function addressAt(cidr: Cidr | string, offset: number | bigint): string {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  const n = BigInt(offset);
  if (n < 0n || n >= hostCount(c)) throw new Error(`offset ${n} is outside ${formatCidr(c)}`);
  return bigIntToIp(c.base + n, c.family);
}

/** The `index`-th subnet of length `prefix` inside `cidr`, e.g. (10.244.0.0/16, 24, 2) -> 10.244.2.0/24. */
export function subnetAt(cidr: Cidr | string, prefix: number, index: number): Cidr {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  if (prefix < c.prefix || prefix > BITS[c.family]) throw new Error(`/${prefix} does not fit inside ${formatCidr(c)}`);
  const count = 1n << BigInt(prefix - c.prefix);
  if (index < 0 || BigInt(index) >= count) throw new Error(`subnet ${index} of /${prefix} is outside ${formatCidr(c)}`);
  return { family: c.family, prefix, base: c.base + (BigInt(index) << BigInt(BITS[c.family] - prefix)) };
}

export function cidrContains(cidr: Cidr | string, ip: string): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  if (familyOf(ip) !== c.family) return false;
  const hostBits = BigInt(BITS[c.family] - c.prefix);
  return ipToBigInt(ip) >> hostBits === c.base >> hostBits;
}

/** Canonical text of an address, so addresses compare equal however they were written. */
export function canonicalIp(ip: string): string {
  return bigIntToIp(ipToBigInt(ip), familyOf(ip));
}

/** "ip:port", or "[ip]:port" for IPv6. */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

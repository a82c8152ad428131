import { isIPv4, isIPv6 } from 'node:net';

export type IPFamily = 'IPv4' | 'IPv6';
export const IP_FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** The family of an address, or undefined when it is not an address at all. */
export function ipFamilyOf(ip: string): IPFamily | undefined {
  if (isIPv4(ip)) return 'IPv4';
  if (isIPv6(ip)) return 'IPv6';
  return undefined;
}

/** Eight 16-bit groups of an IPv6 address (with any embedded IPv4 tail expanded). */
function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const tailV4 = text.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/);
  if (tailV4) {
    const o = tailV4[2]!.split('.').map(Number);
    text = `${tailV4[1]}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const headParts = head ? head.split(':') : [];
  const tailParts = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = tail === undefined ? headParts : [...headParts, ...Array(missing).fill('0'), ...tailParts];
  return parts.map((p) => parseInt(p, 16));
}

/**
 * The canonical text of an address as Go's net.IP.String() prints it (RFC 5952: lower case, the
 * longest run of two or more zero groups shortened to "::"); upstream builds chain names and rule
 * text from that form, so two spellings of one address must give one name.
 */
export function canonicalIP(ip: string): string | undefined {
  if (isIPv4(ip)) return ip.split('.').map((o) => String(Number(o))).join('.');
  if (!isIPv6(ip)) return undefined;
  const g = ipv6Groups(ip);
  // Go prints IPv4-mapped IPv6 addresses in dotted form.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export interface CIDR {
  readonly family: IPFamily;
  /** Network address in canonical text, host bits cleared. */
  readonly address: string;
  readonly prefixLength: number;
  /** `address/prefixLength`. */
  readonly text: string;
}

function ipToBigInt(ip: string): bigint {
  if (isIPv4(ip)) return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  return ipv6Groups(ip).reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

function bigIntToIP(value: bigint, family: IPFamily): string {
  if (family === 'IPv4') {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  }
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((value >> s) & 0xffffn).toString(16));
  return canonicalIP(groups.join(':'))!;
}

/** Parses "a.b.c.d/n" or "x::y/n"; a bare address becomes a host prefix. Undefined when invalid. */
export function parseCIDR(text: string): CIDR | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addr = slash >= 0 ? trimmed.slice(0, slash) : trimmed;
  const family = ipFamilyOf(addr);
  if (!family) return undefined;
  const bits = family === 'IPv4' ? 32 : 128;
  let prefixLength = bits;
  if (slash >= 0) {
    const p = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefixLength = Number(p);
    if (prefixLength > bits) return undefined;
  }
  const mask = prefixLength === 0 ? 0n : ((1n << BigInt(prefixLength)) - 1n) << BigInt(bits - prefixLength);
  const address = bigIntToIP(ipToBigInt(addr) & mask, family);
  return { family, address, prefixLength, text: `${address}/${prefixLength}` };
}

export function cidrContains(cidr: CIDR, ip: string): boolean {
  if (ipFamilyOf(ip) !== cidr.family) return false;
  const bits = cidr.family === 'IPv4' ? 32 : 128;
  const shift = BigInt(bits - cidr.prefixLength);
  return ipToBigInt(ip) >> shift === ipToBigInt(cidr.address) >> shift;
}

export function isLoopback(ip: string): boolean {
  return ipFamilyOf(ip) === 'IPv4' ? ip.startsWith('127.') : canonicalIP(ip) === '::1';
}

export function isLinkLocalIPv6(ip: string): boolean {
  return ipFamilyOf(ip) === 'IPv6' && /^fe[89ab]/i.test(canonicalIP(ip)!);
}

/** "ip:port" as upstream prints endpoints, with brackets for IPv6. */
export function joinHostPort(ip: string, port: number): string {
  return ipFamilyOf(ip) === 'IPv6' ? `[${ip}]:${port}` : `${ip}:${port}`;
}

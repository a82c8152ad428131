// nft datatypes: the numeric ids nft stores in NFTA_SET_KEY_TYPE (nft's src/datatype.h), their
// sizes and byte orders, and conversions between JSON values and the bytes the kernel compares.
import { endianness } from 'node:os';
import { isIPv6 } from 'node:net';

import type { NftJsonExpr } from './nftables-json.js';

/** nft's byteorder enum, recorded in set userdata so that `nft list` prints keys correctly. */
export const NftByteorder = { invalid: 0, host: 1, big: 2 } as const;

export interface NftDatatype {
  readonly name: string;
  readonly id: number;
  /** Size in bytes on the wire (before 4-byte alignment inside concatenations). */
  readonly size: number;
  readonly byteorder: number;
  /** Bitmask types (ct state) are matched with `&` by `in`. */
  readonly bitmask?: boolean;
  /** Bytes for a JSON immediate of this type. */
  encode(value: NftJsonExpr): Uint8Array;
  /** JSON value for bytes of this type (for listings and diffs). */
  decode(bytes: Uint8Array): string | number;
}

/** concatenation type ids are the component ids packed 6 bits apart (nft's TYPE_BITS). */
const TYPE_BITS = 6;

const hostIsLittleEndian = endianness() === 'LE';

export class NftValueError extends Error {
  override readonly name = 'NftValueError';
}

function integerOf(value: NftJsonExpr, what: string, max: number): number {
  const n = typeof value === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
    throw new NftValueError(`invalid ${what}: ${JSON.stringify(value)}`);
  }
  return n;
}

/** A u32 in the host's byte order (registers holding marks, ct state, numgen results). */
export function hostU32(n: number): Uint8Array {
  const v = n >>> 0;
  return hostIsLittleEndian
    ? new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24])
    : new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
}

export function readHostU32(bytes: Uint8Array): number {
  if (bytes.length < 4) throw new NftValueError(`expected 4 bytes, got ${bytes.length}`);
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, hostIsLittleEndian);
}

export function beU16(n: number): Uint8Array {
  return new Uint8Array([(n >>> 8) & 0xff, n & 0xff]);
}

/** Dotted quad to bytes; strict (no leading zeros, no shorthand), hand-written because it is hot. */
export function parseIPv4(text: string): Uint8Array {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; /* '.' */
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) part = 99; // leading zero
      value = value * 10 + (c - 48);
      digits++;
      continue;
    }
    if (c !== 46 || digits === 0 || value > 255 || part > 3) {
      throw new NftValueError(`invalid IPv4 address: ${JSON.stringify(text)}`);
    }
    out[part++] = value;
    value = 0;
    digits = 0;
  }
  if (part !== 4) throw new NftValueError(`invalid IPv4 address: ${JSON.stringify(text)}`);
  return out;
}

export function parseIPv6(text: string): Uint8Array {
  if (!isIPv6(text)) throw new NftValueError(`invalid IPv6 address: ${JSON.stringify(text)}`);
  let head = text;
  let tailV4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = Array.from(parseIPv4(text.slice(lastColon + 1)));
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...Array<string>(right === undefined ? 0 : missing).fill('0'), ...rightGroups];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tailV4.length === 4) out.set(tailV4, 12);
  return out;
}

export function formatIPv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

/** RFC 5952 text (lower case, longest zero run compressed), as nft prints it. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function named(names: Record<string, number>, what: string, size: number, max: number) {
  const byValue = new Map(Object.entries(names).map(([k, v]) => [v, k]));
  return {
    toNumber(value: NftJsonExpr): number {
      if (typeof value === 'string' && value in names) return names[value] as number;
      return integerOf(value, what, max);
    },
    toName(n: number): string | number {
      return byValue.get(n) ?? n;
    },
    size,
  };
}

const protocols = named({ icmp: 1, igmp: 2, tcp: 6, udp: 17, ipv6: 41, gre: 47, esp: 50, ah: 51, icmpv6: 58, sctp: 132, udplite: 136 }, 'protocol', 1, 255);
const nfprotos = named({ ipv4: 2, ipv6: 10 }, 'nfproto', 1, 255);
const addrTypes = named(
  { unspec: 0, unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5, blackhole: 6, unreachable: 7, prohibit: 8 },
  'address type',
  4,
  0xffffffff,
);
const ctStates: Record<string, number> = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 };

function u8Type(name: string, id: number, byteorder: number, conv: ReturnType<typeof named>): NftDatatype {
  return {
    name,
    id,
    size: 1,
    byteorder,
    encode: (v) => new Uint8Array([conv.toNumber(v)]),
    decode: (b) => conv.toName(b[0] ?? 0),
  };
}

function hostU32Type(name: string, id: number, conv?: ReturnType<typeof named>, bitmask = false): NftDatatype {
  return {
    name,
    id,
    size: 4,
    byteorder: NftByteorder.host,
    bitmask,
    encode: (v) => hostU32(conv ? conv.toNumber(v) : integerOf(v, name, 0xffffffff)),
    decode: (b) => (conv ? conv.toName(readHostU32(b)) : readHostU32(b)),
  };
}

const ctStateType: NftDatatype = {
  name: 'ct_state',
  id: 26,
  size: 4,
  byteorder: NftByteorder.host,
  bitmask: true,
  encode(v) {
    const names = Array.isArray(v) ? v : [v];
    let mask = 0;
    for (const n of names) {
      if (typeof n === 'string' && n in ctStates) mask |= ctStates[n] as number;
      else mask |= integerOf(n as NftJsonExpr, 'ct state', 0xffffffff);
    }
    return hostU32(mask);
  },
  decode(b) {
    const mask = readHostU32(b);
    const hit = Object.entries(ctStates).find(([, bit]) => bit === mask);
    return hit ? hit[0] : mask;
  },
};

const ifnameType: NftDatatype = {
  name: 'ifname',
  id: 41,
  size: 16,
  byteorder: NftByteorder.host,
  encode(v) {
    if (typeof v !== 'string' || v.length === 0 || v.length > 15 || v.includes('*')) {
      throw new NftValueError(`invalid interface name: ${JSON.stringify(v)}`);
    }
    const out = new Uint8Array(16);
    out.set(new TextEncoder().encode(v));
    return out;
  },
  decode(b) {
    const end = b.indexOf(0);
    return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
  },
};

export const NftDatatypes = {
  verdict: { name: 'verdict', id: 1, size: 0, byteorder: NftByteorder.invalid, encode: () => new Uint8Array(), decode: () => '' } as NftDatatype,
  nf_proto: u8Type('nf_proto', 2, NftByteorder.host, nfprotos),
  integer: hostU32Type('integer', 4),
  ipv4_addr: {
    name: 'ipv4_addr',
    id: 7,
    size: 4,
    byteorder: NftByteorder.big,
    encode: (v) => {
      if (typeof v !== 'string') throw new NftValueError(`invalid IPv4 address: ${JSON.stringify(v)}`);
      return parseIPv4(v);
    },
    decode: formatIPv4,
  } as NftDatatype,
  ipv6_addr: {
    name: 'ipv6_addr',
    id: 8,
    size: 16,
    byteorder: NftByteorder.big,
    encode: (v) => {
      if (typeof v !== 'string') throw new NftValueError(`invalid IPv6 address: ${JSON.stringify(v)}`);
      return parseIPv6(v);
    },
    decode: formatIPv6,
  } as NftDatatype,
  inet_proto: u8Type('inet_proto', 12, NftByteorder.big, protocols),
  inet_service: {
    name: 'inet_service',
    id: 13,
    size: 2,
    byteorder: NftByteorder.big,
    encode: (v) => beU16(integerOf(v, 'port', 0xffff)),
    decode: (b) => ((b[0] ?? 0) << 8) | (b[1] ?? 0),
  } as NftDatatype,
  mark: hostU32Type('mark', 19),
  ct_state: ctStateType,
  fib_addrtype: hostU32Type('fib_addrtype', 38, addrTypes),
  ifname: ifnameType,
} satisfies Record<string, NftDatatype>;

export type NftDatatypeName = keyof typeof NftDatatypes;

export function datatypeByName(name: string): NftDatatype {
  const t = (NftDatatypes as Record<string, NftDatatype>)[name];
  if (!t || name === 'verdict') throw new NftValueError(`unsupported set key type '${name}'`);
  return t;
}

export function datatypeById(id: number): NftDatatype | undefined {
  return Object.values(NftDatatypes).find((t) => t.id === id);
}

/** A set key: one datatype, or a concatenation of several. */
export interface NftKeyType {
  readonly parts: readonly NftDatatype[];
  /** NFTA_SET_KEY_TYPE */
  readonly id: number;
  /** NFTA_SET_KEY_LEN: concatenation members each take a multiple of 4 bytes. */
  readonly len: number;
  readonly byteorder: number;
  readonly isConcat: boolean;
}

const singleKeyTypes = new Map<NftDatatype, NftKeyType>();

export function keyTypeOf(parts: readonly NftDatatype[]): NftKeyType {
  if (parts.length === 1) {
    // Single-type keys are looked up for every loaded expression: build each once.
    const only = parts[0] as NftDatatype;
    let cached = singleKeyTypes.get(only);
    if (!cached) {
      cached = { parts: [only], isConcat: false, id: only.id, len: only.size, byteorder: only.byteorder };
      singleKeyTypes.set(only, cached);
    }
    return cached;
  }
  if (parts.length === 0) throw new NftValueError('empty key type');
  const isConcat = parts.length > 1;
  return {
    parts,
    isConcat,
    id: parts.reduce((id, p) => (id << TYPE_BITS) | p.id, 0) >>> 0,
    len: isConcat ? parts.reduce((n, p) => n + align4(p.size), 0) : (parts[0] as NftDatatype).size,
    byteorder: isConcat ? NftByteorder.invalid : (parts[0] as NftDatatype).byteorder,
  };
}

/** Splits a stored NFTA_SET_KEY_TYPE back into datatypes (undefined if one is unknown). */
export function keyTypeFromId(id: number, keyLen: number): NftKeyType | undefined {
  const parts: NftDatatype[] = [];
  for (let rest = id >>> 0; rest !== 0; rest = Math.floor(rest / (1 << TYPE_BITS))) {
    const t = datatypeById(rest % (1 << TYPE_BITS));
    if (!t) return undefined;
    parts.unshift(t);
  }
  if (parts.length === 0) return undefined;
  const key = keyTypeOf(parts);
  return key.len === keyLen || (!key.isConcat && parts[0] === NftDatatypes.integer) ? key : undefined;
}

export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Concatenates key parts, padding each to 4 bytes as the kernel's registers do. */
export function concatKey(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + align4(p.length), 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += align4(p.length);
  }
  return out;
}

// Compiles nft JSON expressions that load a value (payload, meta, ct, fib, numgen, concatenations,
// bitwise operations) into nf_tables registers, the way nft's netlink_linearize.c does it, so that
// what we program lists identically with `nft list`.
import {
  NftByteorder,
  NftDatatypes,
  NftValueError,
  align4,
  keyTypeOf,
  type NftDatatype,
  type NftKeyType,
} from './nftables-datatypes.js';
import {
  NfProto,
  NftCmpOp,
  NftFibFlags,
  NftFibResult,
  NftNumgenType,
  NftPayloadBase,
  registerForSlot,
  type NftIrExpr,
} from './nftables-ir.js';
import type { NftJsonExpr, NftJsonExprObject } from './nftables-json.js';
import { UdataBuilder } from './nftables-udata.js';

export class NftCompileError extends Error {
  override readonly name = 'NftCompileError';
}

/** NFT_META_* keys used here. */
const MetaKey = { mark: 3, iif: 4, oif: 5, iifname: 6, oifname: 7, nfproto: 15, l4proto: 16 } as const;
/** NFT_CT_* keys used here. */
const CtKey = { state: 0, direction: 1, status: 2, mark: 3 } as const;

export { MetaKey, CtKey };

interface PayloadField {
  base: number;
  offset: number;
  len: number;
  type: NftDatatype;
  /** nft's protocol description id and header field index (recorded as set "typeof"). */
  descId: number;
  fieldIndex: number;
  /** The network protocol this header belongs to (needs `meta nfproto` in inet tables). */
  nfproto?: number;
  /** The transport protocol this header belongs to (needs `meta l4proto`). */
  l4proto?: number;
}

/** nft's enum proto_desc_id values. */
const ProtoDesc = { udp: 6, udplite: 7, tcp: 8, sctp: 10, th: 11, ip: 12, ip6: 13 } as const;

type FieldTemplate = Omit<PayloadField, 'base' | 'nfproto' | 'descId' | 'l4proto'>;
const ipFields: Record<string, FieldTemplate> = {
  saddr: { offset: 12, len: 4, type: NftDatatypes.ipv4_addr, fieldIndex: 11 },
  daddr: { offset: 16, len: 4, type: NftDatatypes.ipv4_addr, fieldIndex: 12 },
  protocol: { offset: 9, len: 1, type: NftDatatypes.inet_proto, fieldIndex: 9 },
};
const ip6Fields: Record<string, FieldTemplate> = {
  saddr: { offset: 8, len: 16, type: NftDatatypes.ipv6_addr, fieldIndex: 8 },
  daddr: { offset: 24, len: 16, type: NftDatatypes.ipv6_addr, fieldIndex: 9 },
  nexthdr: { offset: 6, len: 1, type: NftDatatypes.inet_proto, fieldIndex: 6 },
};
const transportFields: Record<string, FieldTemplate> = {
  sport: { offset: 0, len: 2, type: NftDatatypes.inet_service, fieldIndex: 1 },
  dport: { offset: 2, len: 2, type: NftDatatypes.inet_service, fieldIndex: 2 },
};
const l4Protocols: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, udplite: 136 };

const payloadFieldCache = new Map<string, PayloadField>();

export function payloadField(protocol: string, field: string): PayloadField {
  const cacheKey = `${protocol} ${field}`;
  let f = payloadFieldCache.get(cacheKey);
  if (!f) {
    f = describePayloadField(protocol, field);
    payloadFieldCache.set(cacheKey, f);
  }
  return f;
}

function describePayloadField(protocol: string, field: string): PayloadField {
  if (protocol === 'ip' || protocol === 'ip6') {
    const f = (protocol === 'ip' ? ipFields : ip6Fields)[field];
    if (!f) throw new NftCompileError(`unsupported payload field ${protocol} ${field}`);
    return {
      ...f,
      base: NftPayloadBase.network,
      nfproto: protocol === 'ip' ? NfProto.ipv4 : NfProto.ipv6,
      descId: protocol === 'ip' ? ProtoDesc.ip : ProtoDesc.ip6,
    };
  }
  const f = transportFields[field];
  if (!f) throw new NftCompileError(`unsupported payload field ${protocol} ${field}`);
  if (protocol === 'th') return { ...f, base: NftPayloadBase.transport, descId: ProtoDesc.th };
  const l4 = l4Protocols[protocol];
  if (l4 === undefined) throw new NftCompileError(`unsupported payload protocol '${protocol}'`);
  return { ...f, base: NftPayloadBase.transport, l4proto: l4, descId: ProtoDesc[protocol as keyof typeof ProtoDesc] };
}

interface MetaField {
  key: number;
  type: NftDatatype;
}
const metaFields: Record<string, MetaField> = {
  l4proto: { key: MetaKey.l4proto, type: NftDatatypes.inet_proto },
  nfproto: { key: MetaKey.nfproto, type: NftDatatypes.nf_proto },
  mark: { key: MetaKey.mark, type: NftDatatypes.mark },
  iifname: { key: MetaKey.iifname, type: NftDatatypes.ifname },
  oifname: { key: MetaKey.oifname, type: NftDatatypes.ifname },
  iif: { key: MetaKey.iif, type: NftDatatypes.integer },
  oif: { key: MetaKey.oif, type: NftDatatypes.integer },
};

export function metaField(key: string): MetaField {
  const f = metaFields[key];
  if (!f) throw new NftCompileError(`unsupported meta key '${key}'`);
  return f;
}

const ctFields: Record<string, MetaField> = {
  state: { key: CtKey.state, type: NftDatatypes.ct_state },
  mark: { key: CtKey.mark, type: NftDatatypes.mark },
  status: { key: CtKey.status, type: NftDatatypes.integer },
};

export function ctField(key: string): MetaField {
  const f = ctFields[key];
  if (!f) throw new NftCompileError(`unsupported ct key '${key}'`);
  return f;
}

/** A value loaded into registers by the current statement. */
export interface Loaded {
  slot: number;
  reg: number;
  /** Bytes in the register(s), including padding between concatenation members. */
  len: number;
  key: NftKeyType;
  /** Byte order of the loaded expression (nft records it for anonymous sets keyed by it). */
  byteorder: number;
  /**
   * nft's "typeof" description of the expression, when nft can describe it (set userdata). Built
   * on demand: only anonymous sets need it, and loads are the hottest path of the compiler.
   */
  typeof?: () => Uint8Array;
}

/** nft's enum expr_types values used in "typeof" records. */
const ExprType = { payload: 7, meta: 9, ct: 12, concat: 13 } as const;

function typeofRecord(exprType: number, data: Uint8Array): Uint8Array {
  return new UdataBuilder().putU32(0, exprType).put(1, data).bytes();
}

/**
 * Collects the expressions of one rule: allocates registers per statement (nft resets them at
 * each statement) and remembers which protocol matches already happened, to add nft's implicit
 * dependencies (`meta l4proto tcp` before `tcp dport`, `meta nfproto ipv4` in inet tables) only
 * once.
 */
export class RuleBuilder {
  readonly exprs: NftIrExpr[] = [];
  private nextSlot = 0;
  private l4proto: number | undefined;
  private nfproto: number | undefined;

  constructor(readonly family: number) {
    if (family === NfProto.ipv4 || family === NfProto.ipv6) this.nfproto = family;
  }

  startStatement(): void {
    this.nextSlot = 0;
  }

  /** Registers for `bytes` bytes in 4-byte slots, like nft's get_register(). */
  allocate(bytes: number): number {
    const slot = this.nextSlot;
    this.nextSlot += align4(bytes) / 4;
    if (this.nextSlot > 16) throw new NftCompileError('expression needs more than 64 bytes of registers');
    return slot;
  }

  /** A whole 16-byte register (nat/masq operands), like get_register(ctx, NULL). */
  allocateFull(): number {
    return this.allocate(16);
  }

  push(...exprs: NftIrExpr[]): void {
    this.exprs.push(...exprs);
  }

  knownL4proto(): number | undefined {
    return this.l4proto;
  }

  /** Records a protocol established by an explicit `meta l4proto`/`meta nfproto` match. */
  noteMatch(metaKey: number, op: number, data: Uint8Array): void {
    if (op !== NftCmpOp.eq || data.length !== 1) return;
    if (metaKey === MetaKey.l4proto) this.l4proto = data[0];
    if (metaKey === MetaKey.nfproto) this.nfproto = data[0];
  }

  requireNfproto(nfproto: number): void {
    if (this.nfproto === nfproto) return;
    if (this.family !== NfProto.inet) {
      throw new NftCompileError(`${nfproto === NfProto.ipv4 ? 'ip' : 'ip6'} header match in a table of another family`);
    }
    this.emitMetaDependency(MetaKey.nfproto, nfproto);
    this.nfproto = nfproto;
  }

  requireL4proto(l4proto: number): void {
    if (this.l4proto === l4proto) return;
    this.emitMetaDependency(MetaKey.l4proto, l4proto);
    this.l4proto = l4proto;
  }

  private emitMetaDependency(key: number, value: number): void {
    // A dependency is a statement of its own, placed before the one that needs it.
    const saved = this.nextSlot;
    this.nextSlot = 0;
    const reg = registerForSlot(this.allocate(1));
    this.push({ kind: 'meta', key, dreg: reg }, { kind: 'cmp', sreg: reg, op: NftCmpOp.eq, data: new Uint8Array([value]) });
    this.nextSlot = saved;
  }
}

function objectOf(e: NftJsonExpr): NftJsonExprObject | undefined {
  return typeof e === 'object' && e !== null && !Array.isArray(e) ? e : undefined;
}

/** The payload description when `e` is a plain payload expression (for prefix shortening). */
export function asPayload(e: NftJsonExpr): PayloadField | undefined {
  const o = objectOf(e);
  return o?.payload ? payloadField(o.payload.protocol, o.payload.field) : undefined;
}

/** Emits dependencies for a payload and loads `len` bytes of it (fewer than the field for /8 prefixes). */
export function loadPayload(b: RuleBuilder, f: PayloadField, len = f.len): Loaded {
  if (f.nfproto !== undefined) b.requireNfproto(f.nfproto);
  if (f.l4proto !== undefined) b.requireL4proto(f.l4proto);
  const slot = b.allocate(len);
  const reg = registerForSlot(slot);
  b.push({ kind: 'payload', dreg: reg, base: f.base, offset: f.offset, len });
  return {
    slot,
    reg,
    len,
    key: keyTypeOf([f.type]),
    byteorder: NftByteorder.big,
    typeof: () => typeofRecord(ExprType.payload, new UdataBuilder().putU32(0, f.descId).putU32(1, f.fieldIndex).bytes()),
  };
}

const bitwiseOps = ['&', '|', '^'] as const;

/** Loads the value of a left-hand/key expression into registers of the current statement. */
export function loadExpr(b: RuleBuilder, e: NftJsonExpr): Loaded {
  const o = objectOf(e);
  if (!o) throw new NftCompileError(`expected an expression object, got ${JSON.stringify(e)}`);
  if (o.payload) return loadPayload(b, payloadField(o.payload.protocol, o.payload.field));
  if (o.meta) {
    const f = metaField(o.meta.key);
    const slot = b.allocate(f.type.size);
    const reg = registerForSlot(slot);
    b.push({ kind: 'meta', key: f.key, dreg: reg });
    return {
      slot,
      reg,
      len: f.type.size,
      key: keyTypeOf([f.type]),
      byteorder: NftByteorder.host,
      typeof: () => typeofRecord(ExprType.meta, new UdataBuilder().putU32(0, f.key).bytes()),
    };
  }
  if (o.ct) {
    const f = ctField(o.ct.key);
    const slot = b.allocate(f.type.size);
    const reg = registerForSlot(slot);
    const dir = o.ct.dir === undefined ? undefined : o.ct.dir === 'original' ? 0 : 1;
    b.push({ kind: 'ct', key: f.key, dreg: reg, ...(dir === undefined ? {} : { direction: dir }) });
    return {
      slot,
      reg,
      len: f.type.size,
      key: keyTypeOf([f.type]),
      byteorder: NftByteorder.host,
      typeof: () => typeofRecord(ExprType.ct, new UdataBuilder().putU32(0, f.key).putU32(1, dir ?? 0xffffffff).bytes()),
    };
  }
  if (o.fib) {
    if (o.fib.result !== 'type') throw new NftCompileError(`unsupported fib result '${o.fib.result}'`);
    const flagNames = Array.isArray(o.fib.flags) ? o.fib.flags : o.fib.flags === undefined ? [] : [o.fib.flags];
    let flags = 0;
    for (const name of flagNames) {
      const bit = (NftFibFlags as Record<string, number>)[name];
      if (bit === undefined) throw new NftCompileError(`unsupported fib flag '${name}'`);
      flags |= bit;
    }
    const slot = b.allocate(4);
    const reg = registerForSlot(slot);
    b.push({ kind: 'fib', dreg: reg, result: NftFibResult.addrtype, flags });
    return { slot, reg, len: 4, key: keyTypeOf([NftDatatypes.fib_addrtype]), byteorder: NftByteorder.host };
  }
  if (o.numgen) {
    const { mode, mod, offset } = o.numgen;
    if (!Number.isInteger(mod) || mod < 1) throw new NftCompileError('numgen mod must be a positive integer');
    const slot = b.allocate(4);
    const reg = registerForSlot(slot);
    const type = mode === 'inc' ? NftNumgenType.inc : mode === 'random' ? NftNumgenType.random : undefined;
    if (type === undefined) throw new NftCompileError(`unsupported numgen mode '${String(mode)}'`);
    b.push({ kind: 'numgen', dreg: reg, modulus: mod, type, ...(offset ? { offset } : {}) });
    return { slot, reg, len: 4, key: keyTypeOf([NftDatatypes.integer]), byteorder: NftByteorder.host };
  }
  if (o.concat) {
    const parts = o.concat.map((part) => loadExpr(b, part));
    const first = parts[0];
    if (!first) throw new NftCompileError('empty concatenation');
    // A concatenation is described member by member, or not at all.
    let typeofData: (() => Uint8Array) | undefined;
    if (parts.every((p) => p.typeof)) {
      typeofData = () => {
        const members = new UdataBuilder();
        parts.forEach((p, i) => members.put(i, (p.typeof as () => Uint8Array)()));
        return typeofRecord(ExprType.concat, members.bytes());
      };
    }
    return {
      slot: first.slot,
      reg: first.reg,
      len: parts.reduce((n, p) => n + align4(p.len), 0),
      key: keyTypeOf(parts.flatMap((p) => p.key.parts)),
      byteorder: NftByteorder.invalid,
      ...(typeofData ? { typeof: typeofData } : {}),
    };
  }
  for (const op of bitwiseOps) {
    const operands = o[op];
    if (!operands) continue;
    const [left, right] = operands;
    const loaded = loadExpr(b, left);
    if (loaded.key.isConcat) throw new NftCompileError(`'${op}' on a concatenation is not supported`);
    const type = loaded.key.parts[0] as NftDatatype;
    const value = encodeValue(type, right);
    const ones = new Uint8Array(value.length).fill(0xff);
    const zeros = new Uint8Array(value.length);
    const [mask, xor] =
      op === '&' ? [value, zeros] : op === '|' ? [value.map((x) => ~x & 0xff), value] : [ones, value];
    b.push({ kind: 'bitwise', sreg: loaded.reg, dreg: loaded.reg, len: loaded.len, mask, xor });
    const { typeof: _described, ...rest } = loaded;
    return rest;
  }
  throw new NftCompileError(`unsupported expression ${JSON.stringify(e)}`);
}

/** Bytes of a JSON immediate for a datatype, with a readable error. */
export function encodeValue(type: NftDatatype, value: NftJsonExpr): Uint8Array {
  try {
    return type.encode(value);
  } catch (err) {
    if (err instanceof NftValueError) throw new NftCompileError(err.message);
    throw err;
  }
}

export function familyNumber(family: string): number {
  switch (family) {
    case 'ip':
      return NfProto.ipv4;
    case 'ip6':
      return NfProto.ipv6;
    case 'inet':
      return NfProto.inet;
    case 'arp':
      return NfProto.arp;
    case 'bridge':
      return NfProto.bridge;
    case 'netdev':
      return NfProto.netdev;
    default:
      throw new NftCompileError(`unknown family '${family}'`);
  }
}

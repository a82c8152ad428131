// Compiles the statements of one nft JSON rule into nf_tables expressions (plus the anonymous
// sets and maps the rule refers to), mirroring the bytecode nft 1.0.6 generates so that both paths
// list the same.
import { NftDatatypes, type NftDatatype } from './nftables-datatypes.js';
import {
  CtKey,
  MetaKey,
  NftCompileError,
  RuleBuilder,
  asPayload,
  ctField,
  encodeValue,
  loadExpr,
  loadPayload,
  metaField,
  type Loaded,
} from './nftables-compile-expr.js';
import { compileElements, memberBounds, parseVerdict, type NftSetShape } from './nftables-compile-elements.js';
import {
  NFT_DATA_VERDICT,
  NfProto,
  NftCmpOp,
  NftDynsetOp,
  NftLookupFlags,
  NftNatType,
  NftRangeOp,
  NftRejectType,
  NftSetFlags,
  registerForSlot,
  type NftIrExpr,
  type NftIrOp,
} from './nftables-ir.js';
import type { NftJsonExpr, NftJsonExprObject, NftJsonMatchOp, NftJsonNat, NftJsonStatement } from './nftables-json.js';
import { setUdata } from './nftables-udata.js';

export interface RuleContext {
  family: number;
  table: string;
  /** Transaction-unique NFTA_SET_ID for anonymous sets. */
  nextSetId(): number;
}

export interface CompiledRule {
  exprs: NftIrExpr[];
  /** Anonymous sets and their elements, to be sent before the rule. */
  anonymousSets: NftIrOp[];
}

const cmpOps: Record<NftJsonMatchOp, number> = {
  '==': NftCmpOp.eq,
  in: NftCmpOp.eq,
  '!=': NftCmpOp.neq,
  '<': NftCmpOp.lt,
  '<=': NftCmpOp.lte,
  '>': NftCmpOp.gt,
  '>=': NftCmpOp.gte,
};

const natFlagBits: Record<string, number> = { random: 0x4, persistent: 0x8, 'fully-random': 0x10 };
/** NF_NAT_RANGE_PROTO_SPECIFIED: set by nft whenever a port is given. */
const NAT_PROTO_SPECIFIED = 0x2;

const icmpCodes: Record<string, number> = {
  'net-unreachable': 0,
  'host-unreachable': 1,
  'prot-unreachable': 2,
  'port-unreachable': 3,
  'net-prohibited': 9,
  'host-prohibited': 10,
  'admin-prohibited': 13,
};
const icmpv6Codes: Record<string, number> = {
  'no-route': 0,
  'admin-prohibited': 1,
  'addr-unreachable': 3,
  'port-unreachable': 4,
  'policy-fail': 5,
  'reject-route': 6,
};
const icmpxCodes: Record<string, number> = {
  'no-route': 0,
  'port-unreachable': 1,
  'host-unreachable': 2,
  'admin-prohibited': 3,
};

function objectOf(e: NftJsonExpr): NftJsonExprObject | undefined {
  return typeof e === 'object' && e !== null && !Array.isArray(e) ? e : undefined;
}

function flagList(flags: string | string[] | undefined): string[] {
  return flags === undefined ? [] : Array.isArray(flags) ? flags : [flags];
}

/** True when any element (or map key) uses a prefix or range: the anonymous set needs intervals. */
function hasIntervals(items: readonly NftJsonExpr[], isMap: boolean): boolean {
  const isRange = (e: NftJsonExpr): boolean => {
    const o = objectOf(e);
    if (!o) return false;
    if (o.prefix || o.range) return true;
    if (o.elem) return isRange(o.elem.val);
    if (o.concat) return o.concat.some(isRange);
    return false;
  };
  return items.some((item) => isRange(isMap && Array.isArray(item) ? (item[0] as NftJsonExpr) : item));
}

class RuleCompiler {
  private readonly b: RuleBuilder;
  private readonly anonymousSets: NftIrOp[] = [];

  constructor(private readonly ctx: RuleContext) {
    this.b = new RuleBuilder(ctx.family);
  }

  compile(statements: readonly NftJsonStatement[]): CompiledRule {
    statements.forEach((s, i) => {
      try {
        this.statement(s);
      } catch (err) {
        if (err instanceof NftCompileError) throw new NftCompileError(`statement #${i}: ${err.message}`);
        throw err;
      }
    });
    return { exprs: this.b.exprs, anonymousSets: this.anonymousSets };
  }

  private statement(s: NftJsonStatement): void {
    const keys = Object.keys(s);
    if (keys.length !== 1) throw new NftCompileError(`a statement has exactly one key, got ${JSON.stringify(keys)}`);
    this.b.startStatement();
    if (s.match) return this.match(s.match.op, s.match.left, s.match.right);
    if ('counter' in s) return this.b.push({ kind: 'counter', bytes: s.counter?.bytes ?? 0, packets: s.counter?.packets ?? 0 });
    if ('accept' in s || 'drop' in s || 'return' in s || 'continue' in s || s.jump || s.goto) {
      return this.b.push({ kind: 'immediate', dreg: 0, verdict: parseVerdict(s as unknown as NftJsonExpr) });
    }
    if (s.mangle) return this.mangle(s.mangle.key, s.mangle.value);
    if ('masquerade' in s) return this.masquerade(s.masquerade ?? {});
    if (s.snat) return this.nat(NftNatType.snat, s.snat);
    if (s.dnat) return this.nat(NftNatType.dnat, s.dnat);
    if ('reject' in s) return this.reject(s.reject ?? {});
    if (s.vmap) return this.vmap(s.vmap.key, s.vmap.data);
    if (s.set) return this.dynset(s.set.op, s.set.elem, s.set.set);
    throw new NftCompileError(`unsupported statement '${keys[0]}'`);
  }

  private match(op: NftJsonMatchOp, left: NftJsonExpr, right: NftJsonExpr): void {
    if (!(op in cmpOps)) throw new NftCompileError(`unsupported match operator '${String(op)}'`);
    if (typeof right === 'string' && right.startsWith('@')) {
      if (op !== '==' && op !== '!=' && op !== 'in') throw new NftCompileError(`'${op}' cannot be used with a set`);
      const l = loadExpr(this.b, left);
      this.b.push({ kind: 'lookup', sreg: l.reg, set: right.slice(1), ...(op === '!=' ? { flags: NftLookupFlags.invert } : {}) });
      return;
    }
    const r = objectOf(right);
    if (r?.set) {
      const items = r.set;
      if (items.length === 0) throw new NftCompileError('empty anonymous set');
      // nft turns a one-element anonymous set into a plain comparison (except for concatenations).
      if (items.length === 1 && !objectOf(left)?.concat) {
        const only = items[0] as NftJsonExpr;
        return this.match(op, left, objectOf(only)?.elem?.val ?? only);
      }
      if (op !== '==' && op !== '!=' && op !== 'in') throw new NftCompileError(`'${op}' cannot be used with a set`);
      const l = loadExpr(this.b, left);
      const shape: NftSetShape = { key: l.key, interval: hasIntervals(items, false) };
      const set = this.anonymousSet(l, shape, items);
      this.b.push({ kind: 'lookup', sreg: l.reg, ...set, ...(op === '!=' ? { flags: NftLookupFlags.invert } : {}) });
      return;
    }
    if (r?.prefix) return this.prefixMatch(op, left, r.prefix);
    if (r?.range) return this.rangeMatch(op, left, right);

    const l = loadExpr(this.b, left);
    let data: Uint8Array;
    if (l.key.isConcat) {
      const members = r?.concat;
      if (!members || members.length !== l.key.parts.length) throw new NftCompileError('concatenation value does not match');
      const out = new Uint8Array(l.len);
      let at = 0;
      members.forEach((m, i) => {
        const v = encodeValue(l.key.parts[i] as NftDatatype, m);
        out.set(v, at);
        at += (v.length + 3) & ~3;
      });
      data = out;
    } else {
      data = encodeValue(l.key.parts[0] as NftDatatype, right);
    }
    const type = l.key.parts[0] as NftDatatype;
    if (op === 'in' && type.bitmask) {
      // Flag types: `ct state new` is (state & new) != 0.
      this.b.push(
        { kind: 'bitwise', sreg: l.reg, dreg: l.reg, len: l.len, mask: data, xor: new Uint8Array(l.len) },
        { kind: 'cmp', sreg: l.reg, op: NftCmpOp.neq, data: new Uint8Array(l.len) },
      );
      return;
    }
    const cmpOp = cmpOps[op];
    if (cmpOp !== NftCmpOp.eq && cmpOp !== NftCmpOp.neq && type.byteorder !== 2) {
      throw new NftCompileError(`'${op}' is only supported for big-endian values (addresses, ports)`);
    }
    this.b.push({ kind: 'cmp', sreg: l.reg, op: cmpOp, data });
    const lo = objectOf(left);
    if (lo?.meta) this.b.noteMatch(metaField(lo.meta.key).key, cmpOp, data);
  }

  private prefixMatch(op: NftJsonMatchOp, left: NftJsonExpr, prefix: { addr: string; len: number }): void {
    if (op !== '==' && op !== '!=' && op !== 'in') throw new NftCompileError(`'${op}' cannot be used with a prefix`);
    const cmpOp = op === '!=' ? NftCmpOp.neq : NftCmpOp.eq;
    const payload = asPayload(left);
    if (payload && prefix.len > 0 && prefix.len % 8 === 0) {
      // Byte-aligned prefixes load only the leading bytes (nft's payload shortening).
      const [lo] = memberBounds(payload.type, { prefix });
      const l = loadPayload(this.b, payload, prefix.len / 8);
      this.b.push({ kind: 'cmp', sreg: l.reg, op: cmpOp, data: lo.subarray(0, prefix.len / 8) });
      return;
    }
    const l = loadExpr(this.b, left);
    const type = l.key.parts[0] as NftDatatype;
    const [lo, hi] = memberBounds(type, { prefix });
    const mask = lo.map((b, i) => ~(b ^ (hi[i] as number)) & 0xff);
    this.b.push(
      { kind: 'bitwise', sreg: l.reg, dreg: l.reg, len: l.len, mask, xor: new Uint8Array(l.len) },
      { kind: 'cmp', sreg: l.reg, op: cmpOp, data: lo },
    );
  }

  private rangeMatch(op: NftJsonMatchOp, left: NftJsonExpr, right: NftJsonExpr): void {
    const l = loadExpr(this.b, left);
    const type = l.key.parts[0] as NftDatatype;
    if (type.byteorder !== 2) throw new NftCompileError('ranges are only supported for big-endian values');
    const [lo, hi] = memberBounds(type, right);
    if (op === '!=') {
      this.b.push({ kind: 'range', sreg: l.reg, op: NftRangeOp.neq, from: lo, to: hi });
    } else if (op === '==' || op === 'in') {
      this.b.push({ kind: 'cmp', sreg: l.reg, op: NftCmpOp.gte, data: lo }, { kind: 'cmp', sreg: l.reg, op: NftCmpOp.lte, data: hi });
    } else {
      throw new NftCompileError(`'${op}' cannot be used with a range`);
    }
  }

  private vmap(key: NftJsonExpr, data: NftJsonExpr): void {
    const l = loadExpr(this.b, key);
    if (typeof data === 'string' && data.startsWith('@')) {
      this.b.push({ kind: 'lookup', sreg: l.reg, set: data.slice(1), dreg: 0 });
      return;
    }
    const items = objectOf(data)?.set;
    if (!items || items.length === 0) throw new NftCompileError('vmap data must be "@map" or a non-empty {"set": [...]}');
    const shape: NftSetShape = { key: l.key, data: { kind: 'verdict' }, interval: hasIntervals(items, true) };
    this.b.push({ kind: 'lookup', sreg: l.reg, ...this.anonymousSet(l, shape, items), dreg: 0 });
  }

  /** Emits NEWSET + NEWSETELEM for an anonymous set or verdict map; returns the lookup target. */
  private anonymousSet(key: Loaded, shape: NftSetShape, items: readonly NftJsonExpr[]): { set: string; setId: number } {
    const isMap = shape.data !== undefined;
    const elements = compileElements(shape, items, { forDelete: false, merge: true, firstSegment: true });
    const id = this.ctx.nextSetId();
    const name = isMap ? '__map%d' : '__set%d';
    let flags = NftSetFlags.anonymous | NftSetFlags.constant;
    if (shape.interval) flags |= NftSetFlags.interval;
    if (isMap) flags |= NftSetFlags.map;
    const concatInterval = shape.interval && shape.key.isConcat;
    if (concatInterval) flags |= NftSetFlags.concat;
    this.anonymousSets.push(
      {
        op: 'newset',
        family: this.ctx.family,
        table: this.ctx.table,
        name,
        id,
        flags,
        keyType: shape.key.id,
        keyLen: shape.key.len,
        ...(isMap ? { dataType: NFT_DATA_VERDICT, dataLen: 0 } : {}),
        size: elements.length,
        ...(concatInterval ? { fieldLens: shape.key.parts.map((p) => p.size) } : {}),
        // What nft 1.0.6 records: the key expression's byte order and description (not for
        // interval maps), and automerge for interval sets.
        userdata: setUdata({
          keyByteorder: key.byteorder,
          ...(isMap ? { dataByteorder: 0 } : {}),
          keyIsConcat: shape.key.isConcat,
          anonymous: true,
          ...(key.typeof && !(isMap && shape.interval) ? { keyTypeof: key.typeof() } : {}),
          ...(shape.interval && !isMap ? { mergeElements: true } : {}),
        }),
      },
      { op: 'newsetelem', family: this.ctx.family, table: this.ctx.table, set: name, setId: id, elements },
    );
    return { set: name, setId: id };
  }

  private dynset(op: 'add' | 'update', elem: NftJsonExpr, set: string): void {
    if (!set.startsWith('@')) throw new NftCompileError(`set statement needs "@name", got ${JSON.stringify(set)}`);
    const wrapped = objectOf(elem)?.elem;
    const l = loadExpr(this.b, wrapped ? wrapped.val : elem);
    this.b.push({
      kind: 'dynset',
      op: op === 'add' ? NftDynsetOp.add : op === 'update' ? NftDynsetOp.update : (() => {
        throw new NftCompileError(`unsupported set operation '${String(op)}'`);
      })(),
      sregKey: l.reg,
      set: set.slice(1),
      ...(wrapped?.timeout !== undefined ? { timeoutMs: Math.round(wrapped.timeout * 1000) } : {}),
    });
  }

  private mangle(key: NftJsonExpr, value: NftJsonExpr): void {
    const k = objectOf(key);
    const target = k?.meta ? { field: metaField(k.meta.key), isCt: false } : k?.ct ? { field: ctField(k.ct.key), isCt: true } : undefined;
    if (!target || (target.field.key !== MetaKey.mark && !(target.isCt && target.field.key === CtKey.mark))) {
      throw new NftCompileError(`unsupported mangle target ${JSON.stringify(key)}`);
    }
    let reg: number;
    if (objectOf(value)) {
      reg = loadExpr(this.b, value).reg;
    } else {
      reg = registerForSlot(this.b.allocate(target.field.type.size));
      this.b.push({ kind: 'immediate', dreg: reg, data: encodeValue(target.field.type, value) });
    }
    this.b.push(target.isCt ? { kind: 'ct', key: target.field.key, sreg: reg } : { kind: 'meta', key: target.field.key, sreg: reg });
  }

  private masquerade(spec: { flags?: string | string[] }): void {
    const flags = this.natFlags(spec.flags);
    this.b.push({ kind: 'masq', ...(flags ? { flags } : {}) });
  }

  private natFlags(flags: string | string[] | undefined): number {
    let out = 0;
    for (const name of flagList(flags)) {
      const bit = natFlagBits[name];
      if (bit === undefined) throw new NftCompileError(`unsupported nat flag '${name}'`);
      out |= bit;
    }
    return out;
  }

  private nat(type: number, spec: NftJsonNat): void {
    const family =
      this.ctx.family === NfProto.inet
        ? spec.family === 'ip'
          ? NfProto.ipv4
          : spec.family === 'ip6'
            ? NfProto.ipv6
            : (() => {
                throw new NftCompileError('nat in an inet table needs "family": "ip" or "ip6"');
              })()
        : this.ctx.family;
    const addrType: NftDatatype = family === NfProto.ipv6 ? NftDatatypes.ipv6_addr : NftDatatypes.ipv4_addr;
    const expr: NftIrExpr & { kind: 'nat' } = { kind: 'nat', type, family };
    if (spec.addr !== undefined) {
      const reg = registerForSlot(this.b.allocateFull());
      this.b.push({ kind: 'immediate', dreg: reg, data: encodeValue(addrType, spec.addr) });
      expr.regAddrMin = reg;
    }
    let flags = this.natFlags(spec.flags);
    if (spec.port !== undefined) {
      const reg = registerForSlot(this.b.allocateFull());
      this.b.push({ kind: 'immediate', dreg: reg, data: encodeValue(NftDatatypes.inet_service, spec.port) });
      expr.regProtoMin = reg;
      flags |= NAT_PROTO_SPECIFIED;
    }
    if (expr.regAddrMin === undefined && expr.regProtoMin === undefined) {
      throw new NftCompileError('nat needs "addr" and/or "port"');
    }
    if (flags) expr.flags = flags;
    this.b.push(expr);
  }

  private reject(spec: { type?: string; expr?: string }): void {
    const family = this.ctx.family;
    const code = (table: Record<string, number>, fallback: string): number => {
      const name = spec.expr ?? fallback;
      const c = table[name];
      if (c === undefined) throw new NftCompileError(`unsupported reject code '${name}'`);
      return c;
    };
    const type = spec.type ?? (family === NfProto.ipv4 ? 'icmp' : family === NfProto.ipv6 ? 'icmpv6' : 'icmpx');
    switch (type) {
      case 'tcp reset':
        this.b.requireL4proto(6);
        this.b.push({ kind: 'reject', type: NftRejectType.tcpRst });
        return;
      case 'icmp':
        this.b.requireNfproto(NfProto.ipv4);
        this.b.push({ kind: 'reject', type: NftRejectType.icmpUnreach, code: code(icmpCodes, 'port-unreachable') });
        return;
      case 'icmpv6':
        this.b.requireNfproto(NfProto.ipv6);
        this.b.push({ kind: 'reject', type: NftRejectType.icmpUnreach, code: code(icmpv6Codes, 'port-unreachable') });
        return;
      case 'icmpx':
        if (family !== NfProto.inet) throw new NftCompileError('reject with icmpx is only supported in inet tables');
        this.b.push({ kind: 'reject', type: NftRejectType.icmpxUnreach, code: code(icmpxCodes, 'port-unreachable') });
        return;
      default:
        throw new NftCompileError(`unsupported reject type '${type}'`);
    }
  }
}

export function compileRuleStatements(statements: readonly NftJsonStatement[], ctx: RuleContext): CompiledRule {
  return new RuleCompiler(ctx).compile(statements);
}

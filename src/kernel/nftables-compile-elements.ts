// Set and map elements: JSON element values to binary keys, data and interval boundaries, the way
// nft lays them out (one start element and one INTERVAL_END element per range in rbtree sets,
// KEY_END in concatenated interval sets, 4-byte padded concatenation members).
import { concatKey, type NftDatatype, type NftKeyType } from './nftables-datatypes.js';
import { NftCompileError, encodeValue } from './nftables-compile-expr.js';
import { NftSetElemFlags, NftVerdictCode, type NftIrElement, type NftIrVerdict } from './nftables-ir.js';
import type { NftJsonExpr, NftJsonExprObject } from './nftables-json.js';
import { Udata, commentUdata } from './nftables-udata.js';

/** What element encoding needs to know about a set or map. */
export interface NftSetShape {
  key: NftKeyType;
  /** Maps: verdicts or values of one datatype. */
  data?: { kind: 'verdict' } | { kind: 'value'; type: NftDatatype };
  interval: boolean;
}

export interface ElementOptions {
  /** Deleting: keys only. */
  forDelete: boolean;
  /** Anonymous sets merge overlapping and adjacent ranges, like nft's automerge. */
  merge: boolean;
  /** nft adds an INTERVAL_END element at key 0 when the set is new (or anonymous). */
  firstSegment: boolean;
}

interface ParsedElement {
  lo: Uint8Array[];
  hi: Uint8Array[];
  data?: Uint8Array;
  verdict?: NftIrVerdict;
  timeoutMs?: number;
  userdata?: Uint8Array;
}

function objectOf(e: NftJsonExpr): NftJsonExprObject | undefined {
  return typeof e === 'object' && e !== null && !Array.isArray(e) ? e : undefined;
}

/** A verdict given as map data ({"goto": {"target": "x"}}, {"accept": null}, ...). */
export function parseVerdict(e: NftJsonExpr): NftIrVerdict {
  const o = objectOf(e);
  if (o) {
    if (o.jump) return { code: NftVerdictCode.jump, chain: o.jump.target };
    if (o.goto) return { code: NftVerdictCode.goto, chain: o.goto.target };
    if ('accept' in o) return { code: NftVerdictCode.accept };
    if ('drop' in o) return { code: NftVerdictCode.drop };
    if ('return' in o) return { code: NftVerdictCode.return };
    if ('continue' in o) return { code: NftVerdictCode.continue };
  }
  throw new NftCompileError(`expected a verdict, got ${JSON.stringify(e)}`);
}

function prefixBounds(type: NftDatatype, addr: NftJsonExpr, len: number): [Uint8Array, Uint8Array] {
  const base = encodeValue(type, addr);
  const bits = base.length * 8;
  if (!Number.isInteger(len) || len < 0 || len > bits) throw new NftCompileError(`invalid prefix length ${len}`);
  const lo = new Uint8Array(base.length);
  const hi = new Uint8Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const keep = Math.max(0, Math.min(8, len - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    lo[i] = (base[i] as number) & mask;
    hi[i] = lo[i]! | (~mask & 0xff);
  }
  return [lo, hi];
}

/** Low and high bytes of one key member: a value, {"prefix": ...} or {"range": [lo, hi]}. */
export function memberBounds(type: NftDatatype, e: NftJsonExpr): [Uint8Array, Uint8Array] {
  const o = objectOf(e);
  if (o?.prefix) return prefixBounds(type, o.prefix.addr, o.prefix.len);
  if (o?.range) {
    const lo = encodeValue(type, o.range[0]);
    const hi = encodeValue(type, o.range[1]);
    if (compareBytes(lo, hi) > 0) throw new NftCompileError(`range ${JSON.stringify(o.range)} is reversed`);
    return [lo, hi];
  }
  const v = encodeValue(type, e);
  return [v, v];
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

/** a + 1 in big-endian, or undefined when a is all ones. */
function increment(a: Uint8Array): Uint8Array | undefined {
  const out = Uint8Array.from(a);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i] = (out[i] as number) + 1;
      return out;
    }
    out[i] = 0;
  }
  return undefined;
}

function parseElement(shape: NftSetShape, item: NftJsonExpr, forDelete: boolean): ParsedElement {
  let keyExpr = item;
  let dataExpr: NftJsonExpr | undefined;
  if (shape.data && Array.isArray(item) && item.length === 2) {
    [keyExpr, dataExpr] = item as [NftJsonExpr, NftJsonExpr];
  } else if (shape.data && !forDelete) {
    throw new NftCompileError(`map element must be [key, value]: ${JSON.stringify(item)}`);
  }
  const out: ParsedElement = { lo: [], hi: [] };
  const wrapped = objectOf(keyExpr)?.elem;
  if (wrapped) {
    keyExpr = wrapped.val;
    if (!forDelete) {
      if (wrapped.timeout !== undefined) out.timeoutMs = Math.round(wrapped.timeout * 1000);
      if (wrapped.expires !== undefined) throw new NftCompileError('element "expires" is not supported; use "timeout"');
      out.userdata = commentUdata(Udata.setElemComment, wrapped.comment);
    }
  }
  const members = shape.key.isConcat ? objectOf(keyExpr)?.concat : [keyExpr];
  if (!members || members.length !== shape.key.parts.length) {
    throw new NftCompileError(
      `element ${JSON.stringify(keyExpr)} does not match the key type (${shape.key.parts.map((p) => p.name).join(' . ')})`,
    );
  }
  members.forEach((m, i) => {
    const [lo, hi] = memberBounds(shape.key.parts[i] as NftDatatype, m);
    if (!shape.interval && compareBytes(lo, hi) !== 0) {
      throw new NftCompileError(`ranges and prefixes need a set with the interval flag: ${JSON.stringify(m)}`);
    }
    out.lo.push(lo);
    out.hi.push(hi);
  });
  if (dataExpr !== undefined && !forDelete && shape.data) {
    if (shape.data.kind === 'verdict') out.verdict = parseVerdict(dataExpr);
    else out.data = encodeValue(shape.data.type, dataExpr);
  }
  return out;
}

function keyBytes(shape: NftSetShape, parts: Uint8Array[]): Uint8Array {
  return shape.key.isConcat ? concatKey(parts) : (parts[0] as Uint8Array);
}

function withPayload(e: NftIrElement, p: ParsedElement): NftIrElement {
  if (p.verdict) e.verdict = p.verdict;
  if (p.data) e.data = p.data;
  if (p.timeoutMs !== undefined) e.timeoutMs = p.timeoutMs;
  if (p.userdata) e.userdata = p.userdata;
  return e;
}

/** Compiles JSON elements for a set of the given shape into kernel elements. */
export function compileElements(shape: NftSetShape, items: readonly NftJsonExpr[], opts: ElementOptions): NftIrElement[] {
  const parsed = items.map((item) => parseElement(shape, item, opts.forDelete));
  if (!shape.interval) return parsed.map((p) => withPayload({ key: keyBytes(shape, p.lo) }, p));
  if (shape.key.isConcat) {
    return parsed.map((p) => withPayload({ key: concatKey(p.lo), keyEnd: concatKey(p.hi) }, p));
  }

  // rbtree intervals: [lo, hi] becomes a start element at lo and an end element at hi + 1.
  let ranges = parsed
    .map((p) => ({ lo: p.lo[0] as Uint8Array, hi: p.hi[0] as Uint8Array, p }))
    .sort((a, b) => compareBytes(a.lo, b.lo));
  if (opts.merge && !shape.data) {
    const merged: typeof ranges = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      const lastEnd = last ? increment(last.hi) : undefined;
      if (last && (lastEnd === undefined || compareBytes(r.lo, lastEnd) <= 0)) {
        if (compareBytes(r.hi, last.hi) > 0) last.hi = r.hi;
      } else {
        merged.push({ ...r });
      }
    }
    ranges = merged;
  }
  const out: NftIrElement[] = [];
  const first = ranges[0];
  if (opts.firstSegment && !opts.forDelete && first && first.lo.some((b) => b !== 0)) {
    out.push({ key: new Uint8Array(first.lo.length), flags: NftSetElemFlags.intervalEnd });
  }
  for (const r of ranges) {
    out.push(withPayload({ key: r.lo }, r.p));
    const end = increment(r.hi);
    if (end) out.push({ key: end, flags: NftSetElemFlags.intervalEnd });
  }
  return out;
}

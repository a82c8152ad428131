// Serialises compiled nf_tables operations (nftables-ir.ts objects) into the compact buffer the
// addon reads (format described in native/wire.h). One Uint8Array crosses into C++ instead of
// hundreds of thousands of objects, which N-API can only read one property call at a time.
import type { NftIrOp } from './nftables-ir.js';

/** Field ids are positions in this list; native/wire.cc has the same list (checked at load). */
export const WIRE_FIELD_NAMES = [
  'op', 'kind', 'family', 'name', 'table', 'chain', 'set', 'setId', 'flags', 'userdata', 'hook', 'hooknum',
  'priority', 'type', 'policy', 'exprs', 'handle', 'keyType', 'keyLen', 'dataType', 'dataLen', 'id', 'timeoutMs',
  'gcIntervalMs', 'size', 'fieldLens', 'elements', 'key', 'keyEnd', 'data', 'verdict', 'code', 'dreg', 'sreg',
  'base', 'offset', 'len', 'mask', 'xor', 'from', 'to', 'regAddrMin', 'regAddrMax', 'regProtoMin', 'regProtoMax',
  'modulus', 'direction', 'bytes', 'packets', 'sregKey', 'sregData', 'result', 'create', 'position',
] as const;

const fieldIds = new Map<string, number>(WIRE_FIELD_NAMES.map((name, id) => [name, id]));

const WireType = { U32: 1, I32: 2, U64: 3, Bool: 4, Str: 5, Bytes: 6, Record: 7, Array: 8 } as const;

export class WireEncodeError extends Error {
  override readonly name = 'WireEncodeError';
}

class WireWriter {
  private buf = new Uint8Array(1 << 20);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  private readonly textEncoder = new TextEncoder();

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** Reserves a u32 length slot; returns its position. */
  slot(): number {
    this.ensure(4);
    this.pos += 4;
    return this.pos - 4;
  }

  patch(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }

  get position(): number {
    return this.pos;
  }

  string(s: string): void {
    this.u8(WireType.Str);
    // Names are almost always ASCII: copy code units directly, fall back to UTF-8 otherwise.
    const at = this.slot();
    this.ensure(s.length * 3);
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      this.buf[this.pos + i] = c;
    }
    if (ascii) {
      this.pos += s.length;
    } else {
      const { written } = this.textEncoder.encodeInto(s, this.buf.subarray(this.pos));
      this.pos += written;
    }
    this.patch(at, this.pos - at - 4);
  }

  bytes(b: Uint8Array): void {
    this.u8(WireType.Bytes);
    this.u32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  value(v: unknown, field: string): void {
    switch (typeof v) {
      case 'number':
        if (Number.isInteger(v)) {
          if (v >= 0 && v <= 0xffffffff) {
            this.u8(WireType.U32);
            this.u32(v);
            return;
          }
          if (v < 0 && v >= -0x80000000) {
            this.u8(WireType.I32);
            this.u32(v >>> 0);
            return;
          }
          if (v > 0 && v <= Number.MAX_SAFE_INTEGER) {
            this.u8(WireType.U64);
            this.u32(v % 0x100000000);
            this.u32(Math.floor(v / 0x100000000));
            return;
          }
        }
        throw new WireEncodeError(`${field} must be an integer, got ${v}`);
      case 'bigint':
        if (v < 0n || v > 0xffffffffffffffffn) throw new WireEncodeError(`${field} must fit in 64 bits`);
        this.u8(WireType.U64);
        this.u32(Number(v & 0xffffffffn));
        this.u32(Number(v >> 32n));
        return;
      case 'string':
        this.string(v);
        return;
      case 'boolean':
        this.u8(WireType.Bool);
        this.u8(v ? 1 : 0);
        return;
      case 'object':
        if (v instanceof Uint8Array) {
          this.bytes(v);
          return;
        }
        if (Array.isArray(v)) {
          this.u8(WireType.Array);
          this.u32(v.length);
          const at = this.slot();
          for (const item of v) this.value(item, field);
          this.patch(at, this.pos - at - 4);
          return;
        }
        if (v !== null) {
          this.record(v as Record<string, unknown>);
          return;
        }
    }
    throw new WireEncodeError(`${field}: unsupported value ${String(v)}`);
  }

  record(o: Record<string, unknown>): void {
    this.u8(WireType.Record);
    const at = this.slot();
    for (const key in o) {
      const v = o[key];
      if (v === undefined) continue;
      const id = fieldIds.get(key);
      if (id === undefined) throw new WireEncodeError(`unknown field '${key}'`);
      this.u8(id);
      this.value(v, key);
    }
    this.patch(at, this.pos - at - 4);
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** Serialises operations one at a time; finish() returns the buffer for nftEncodeBatch. */
export class WireStream {
  private readonly w = new WireWriter();
  private readonly countAt: number;
  private readonly lengthAt: number;
  private count = 0;

  constructor() {
    for (const c of 'KPW1') this.w.u8(c.charCodeAt(0));
    this.w.u8(WireType.Array);
    this.countAt = this.w.slot();
    this.lengthAt = this.w.slot();
  }

  write(op: NftIrOp): void {
    try {
      this.w.record(op as unknown as Record<string, unknown>);
    } catch (err) {
      if (err instanceof WireEncodeError) throw new WireEncodeError(`operation #${this.count}: ${err.message}`);
      throw err;
    }
    this.count++;
  }

  finish(): Uint8Array {
    this.w.patch(this.countAt, this.count);
    this.w.patch(this.lengthAt, this.w.position - this.lengthAt - 4);
    return this.w.finish();
  }
}

/** The buffer for nftEncodeBatch: "KPW1" and the array of operations. */
export function encodeWire(ops: readonly NftIrOp[]): Uint8Array {
  const stream = new WireStream();
  for (const op of ops) stream.write(op);
  return stream.finish();
}

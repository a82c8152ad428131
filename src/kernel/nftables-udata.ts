// Userdata blobs that nft (libnftnl's udata TLVs: u8 type, u8 length, value) stores next to
// tables, chains, rules, sets and elements. The kernel keeps them opaque; nft reads them back to
// print comments and to know how to print set keys, so we write exactly what nft writes.
import { hostU32 } from './nftables-datatypes.js';

/** TLV types (libnftnl include/libnftnl/udata.h). */
export const Udata = {
  tableComment: 0,
  chainComment: 0,
  ruleComment: 0,
  setElemComment: 0,
  set: {
    keyByteorder: 0,
    dataByteorder: 1,
    mergeElements: 2,
    keyTypeof: 3,
    dataTypeof: 4,
    expr: 5,
    dataInterval: 6,
    comment: 7,
  },
  typeof: { expr: 0, data: 1 },
} as const;

/** nft's expression-type numbers (enum expr_types) written in "typeof" records. */
const EXPR_VERDICT = 1;
const EXPR_CONCAT = 13;

/** nft limits comments to 128 bytes (NFT_USERDATA_MAXLEN is 256 for the whole blob). */
export const MAX_COMMENT_BYTES = 128;

/** Builds a userdata TLV blob. */
export class UdataBuilder {
  private readonly parts: number[] = [];

  put(type: number, value: Uint8Array | readonly number[]): this {
    if (value.length > 255) throw new RangeError('userdata value longer than 255 bytes');
    this.parts.push(type, value.length);
    for (let i = 0; i < value.length; i++) this.parts.push(value[i] as number);
    return this;
  }

  putU32(type: number, n: number): this {
    return this.put(type, hostU32(n));
  }

  putString(type: number, s: string): this {
    return this.put(type, [...new TextEncoder().encode(s), 0]);
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

export function checkComment(comment: string): string {
  if (new TextEncoder().encode(comment).length > MAX_COMMENT_BYTES) {
    throw new RangeError(`comment longer than ${MAX_COMMENT_BYTES} bytes: ${JSON.stringify(comment)}`);
  }
  return comment;
}

export function commentUdata(type: number, comment: string | undefined): Uint8Array | undefined {
  if (comment === undefined) return undefined;
  return new UdataBuilder().putString(type, checkComment(comment)).bytes();
}

export interface SetUdataInput {
  keyByteorder: number;
  /** Only for maps. */
  dataByteorder?: number;
  keyIsConcat: boolean;
  anonymous: boolean;
  /** Anonymous sets: nft's description of the key expression (see Loaded.typeof). */
  keyTypeof?: Uint8Array;
  /** Anonymous interval sets are created with automerge. */
  mergeElements?: boolean;
  comment?: string;
}

/** The set userdata nft 1.0.6 writes (mnl_nft_set_add). */
export function setUdata(input: SetUdataInput): Uint8Array {
  const w = new UdataBuilder().putU32(Udata.set.keyByteorder, input.keyByteorder);
  const isMap = input.dataByteorder !== undefined;
  if (isMap) w.putU32(Udata.set.dataByteorder, input.dataByteorder ?? 0);
  if (input.mergeElements) w.putU32(Udata.set.mergeElements, 1);
  if (input.keyTypeof) {
    w.put(Udata.set.keyTypeof, input.keyTypeof);
  } else if (input.keyIsConcat && !input.anonymous) {
    // A concatenation declared with `type a . b` still gets a typeof record: the concat
    // expression with no member descriptions.
    const inner = new UdataBuilder()
      .putU32(Udata.typeof.expr, EXPR_CONCAT)
      .put(Udata.typeof.data, [])
      .bytes();
    w.put(Udata.set.keyTypeof, inner);
  }
  if (isMap && input.anonymous && input.dataByteorder === 0) {
    // nft 1.0.6 records the verdict data of anonymous verdict maps as a "typeof" too.
    const inner = new UdataBuilder().putU32(Udata.typeof.expr, EXPR_VERDICT).put(Udata.typeof.data, []).bytes();
    w.put(Udata.set.dataTypeof, inner);
  }
  if (isMap) w.putU32(Udata.set.dataInterval, 0);
  if (input.comment !== undefined) w.putString(Udata.set.comment, checkComment(input.comment));
  return w.bytes();
}

/** Reads the TLVs of a userdata blob; malformed trailing bytes are ignored. */
export function parseUdata(bytes: Uint8Array | undefined): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  if (!bytes) return out;
  for (let i = 0; i + 2 <= bytes.length; ) {
    const type = bytes[i] as number;
    const len = bytes[i + 1] as number;
    if (i + 2 + len > bytes.length) break;
    out.set(type, bytes.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}

export function udataComment(bytes: Uint8Array | undefined, type: number): string | undefined {
  const v = parseUdata(bytes).get(type);
  if (!v) return undefined;
  const end = v.indexOf(0);
  return new TextDecoder().decode(end < 0 ? v : v.subarray(0, end));
}

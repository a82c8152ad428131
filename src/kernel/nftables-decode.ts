// Turns listed nf_tables objects back into nft JSON vocabulary: set declarations (for compiling
// element updates against sets that already exist) and element values (for verifying and
// diffing what the kernel holds).
import { keyTypeFromId, datatypeById, type NftDatatype } from './nftables-datatypes.js';
import {
  NFT_DATA_VERDICT,
  NfProto,
  NftSetElemFlags,
  NftSetFlags,
  NftVerdictCode,
  type NftIrVerdict,
  type NftListedElement,
  type NftListedSet,
} from './nftables-ir.js';
import type { NftKnownSet } from './nftables-compile.js';
import type { NftFamilyName, NftJsonExpr } from './nftables-json.js';
import { Udata, udataComment } from './nftables-udata.js';

const familyNames: Record<number, NftFamilyName> = {
  [NfProto.inet]: 'inet',
  [NfProto.ipv4]: 'ip',
  [NfProto.arp]: 'arp',
  [NfProto.netdev]: 'netdev',
  [NfProto.bridge]: 'bridge',
  [NfProto.ipv6]: 'ip6',
};

export function familyName(family: number): NftFamilyName {
  const name = familyNames[family];
  if (!name) throw new RangeError(`unknown nf_tables family ${family}`);
  return name;
}

/** The declaration of a listed set in nft JSON terms, or undefined for key types we do not know. */
export function knownSetFromListed(set: NftListedSet): NftKnownSet | undefined {
  const key = keyTypeFromId(set.keyType, set.keyLen);
  if (!key) return undefined;
  const flags: string[] = [];
  if (set.flags & NftSetFlags.constant) flags.push('constant');
  if (set.flags & NftSetFlags.interval) flags.push('interval');
  if (set.flags & NftSetFlags.timeout) flags.push('timeout');
  if (set.flags & NftSetFlags.eval) flags.push('dynamic');
  const out: NftKnownSet = {
    family: familyName(set.family),
    table: set.table,
    name: set.name,
    type: key.isConcat ? key.parts.map((p) => p.name) : (key.parts[0] as NftDatatype).name,
    flags,
  };
  if (set.flags & NftSetFlags.map) {
    if (set.dataType === NFT_DATA_VERDICT) out.map = 'verdict';
    else {
      const data = set.dataType === undefined ? undefined : datatypeById(set.dataType);
      if (!data) return undefined;
      out.map = data.name;
    }
  }
  return out;
}

export function verdictToJson(v: NftIrVerdict): NftJsonExpr {
  switch (v.code) {
    case NftVerdictCode.accept:
      return { accept: null };
    case NftVerdictCode.drop:
      return { drop: null };
    case NftVerdictCode.return:
      return { return: null };
    case NftVerdictCode.continue:
      return { continue: null };
    case NftVerdictCode.jump:
      return { jump: { target: v.chain ?? '' } };
    case NftVerdictCode.goto:
      return { goto: { target: v.chain ?? '' } };
    default:
      return { accept: null, code: v.code } as unknown as NftJsonExpr;
  }
}

function decodeKey(parts: readonly NftDatatype[], bytes: Uint8Array): NftJsonExpr {
  if (parts.length === 1) return (parts[0] as NftDatatype).decode(bytes);
  const values: NftJsonExpr[] = [];
  let at = 0;
  for (const p of parts) {
    values.push(p.decode(bytes.subarray(at, at + p.size)));
    at += (p.size + 3) & ~3;
  }
  return { concat: values };
}

/** One element as nft JSON: key (and for maps [key, data]), with comment/timeout when present. */
export interface DecodedElement {
  key: NftJsonExpr;
  data?: NftJsonExpr;
  comment?: string;
  timeoutMs?: number;
  expiresMs?: number;
  /** Interval sets: the exclusive upper bound element (nft lists merged ranges instead). */
  intervalEnd?: boolean;
}

/** Decodes listed elements with the set's key/data types; undefined if the key type is unknown. */
export function decodeElements(set: NftListedSet, elements: readonly NftListedElement[]): DecodedElement[] | undefined {
  const key = keyTypeFromId(set.keyType, set.keyLen);
  if (!key) return undefined;
  const dataType = set.dataType === undefined || set.dataType === NFT_DATA_VERDICT ? undefined : datatypeById(set.dataType);
  return elements.map((e) => {
    const out: DecodedElement = { key: e.key ? decodeKey(key.parts, e.key) : '' };
    if (e.keyEnd) out.key = { range: [out.key, decodeKey(key.parts, e.keyEnd)] } as NftJsonExpr;
    if (e.verdict) out.data = verdictToJson(e.verdict);
    else if (e.data && dataType) out.data = dataType.decode(e.data);
    const comment = udataComment(e.userdata, Udata.setElemComment);
    if (comment !== undefined) out.comment = comment;
    if (e.timeoutMs !== undefined) out.timeoutMs = e.timeoutMs;
    if (e.expiresMs !== undefined) out.expiresMs = e.expiresMs;
    if ((e.flags ?? 0) & NftSetElemFlags.intervalEnd) out.intervalEnd = true;
    return out;
  });
}

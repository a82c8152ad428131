// Low-level nf_tables operations: what the native encoder frames into netlink messages, and what
// the native lister returns. Field names match native/js_reader.cc; numbers are the kernel's
// (uapi linux/netfilter/nf_tables.h), byte arrays are already in wire order.

/** nfgenmsg families (NFPROTO_*). */
export const NfProto = { unspec: 0, inet: 1, ipv4: 2, arp: 3, netdev: 5, bridge: 7, ipv6: 10 } as const;

/** Registers: NFT_REG_VERDICT, the 16-byte NFT_REG_1..4 and the 4-byte NFT_REG32_00..15. */
export const NftReg = { verdict: 0, reg1: 1, reg32First: 8 } as const;

export const NftVerdictCode = {
  drop: 0,
  accept: 1,
  continue: -1,
  break: -2,
  jump: -3,
  goto: -4,
  return: -5,
} as const;

export const NftPayloadBase = { link: 0, network: 1, transport: 2 } as const;
export const NftCmpOp = { eq: 0, neq: 1, lt: 2, lte: 3, gt: 4, gte: 5 } as const;
export const NftRangeOp = { eq: 0, neq: 1 } as const;
export const NftLookupFlags = { invert: 1 } as const;
export const NftDynsetOp = { add: 0, update: 1, delete: 2 } as const;
export const NftNatType = { snat: 0, dnat: 1 } as const;
export const NftNumgenType = { inc: 0, random: 1 } as const;
export const NftRejectType = { icmpUnreach: 0, tcpRst: 1, icmpxUnreach: 2 } as const;
export const NftFibResult = { oif: 1, oifname: 2, addrtype: 3 } as const;
export const NftFibFlags = { saddr: 1, daddr: 2, mark: 4, iif: 8, oif: 16, present: 32 } as const;

export const NftSetFlags = {
  anonymous: 0x1,
  constant: 0x2,
  interval: 0x4,
  map: 0x8,
  timeout: 0x10,
  eval: 0x20,
  object: 0x40,
  concat: 0x80,
  expr: 0x100,
} as const;
export const NftSetElemFlags = { intervalEnd: 0x1, catchall: 0x2 } as const;
/** NFT_DATA_VERDICT: the data type of verdict maps. */
export const NFT_DATA_VERDICT = 0xffffff00;

export const NftChainPolicy = { drop: 0, accept: 1 } as const;
/** NF_INET_* hook numbers. */
export const NfInetHook = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4, ingress: 5 } as const;

export interface NftIrVerdict {
  code: number;
  chain?: string;
}

/** One expression of a rule; `kind` is the kernel's expression name. */
export type NftIrExpr =
  | { kind: 'payload'; dreg: number; base: number; offset: number; len: number }
  | { kind: 'meta'; key: number; dreg?: number; sreg?: number }
  | { kind: 'cmp'; sreg: number; op: number; data: Uint8Array }
  | { kind: 'bitwise'; sreg: number; dreg: number; len: number; mask: Uint8Array; xor: Uint8Array }
  | { kind: 'range'; sreg: number; op: number; from: Uint8Array; to: Uint8Array }
  | { kind: 'lookup'; sreg: number; set: string; setId?: number; dreg?: number; flags?: number }
  | { kind: 'immediate'; dreg: number; data?: Uint8Array; verdict?: NftIrVerdict }
  | {
      kind: 'nat';
      type: number;
      family: number;
      regAddrMin?: number;
      regAddrMax?: number;
      regProtoMin?: number;
      regProtoMax?: number;
      flags?: number;
    }
  | { kind: 'masq'; flags?: number; regProtoMin?: number; regProtoMax?: number }
  | { kind: 'numgen'; dreg: number; modulus: number; type: number; offset?: number }
  | { kind: 'ct'; key: number; dreg?: number; sreg?: number; direction?: number }
  | { kind: 'counter'; bytes?: number; packets?: number }
  | {
      kind: 'dynset';
      op: number;
      sregKey: number;
      set: string;
      setId?: number;
      sregData?: number;
      timeoutMs?: number;
      flags?: number;
    }
  | { kind: 'reject'; type: number; code?: number }
  | { kind: 'fib'; dreg: number; result: number; flags: number };

export interface NftIrElement {
  key: Uint8Array;
  keyEnd?: Uint8Array;
  flags?: number;
  data?: Uint8Array;
  verdict?: NftIrVerdict;
  timeoutMs?: number;
  userdata?: Uint8Array;
}

interface NftIrBase {
  family: number;
}

/** One operation of a transaction, framed by the native encoder as one or more messages. */
export type NftIrOp =
  | (NftIrBase & { op: 'newtable'; name: string; flags?: number; userdata?: Uint8Array; create?: boolean })
  | (NftIrBase & { op: 'deltable'; name?: string })
  | (NftIrBase & { op: 'flushtable'; table: string })
  | (NftIrBase & {
      op: 'newchain';
      table: string;
      name: string;
      hook?: { hooknum: number; priority: number };
      type?: string;
      policy?: number;
      userdata?: Uint8Array;
      create?: boolean;
    })
  | (NftIrBase & { op: 'delchain'; table: string; name: string })
  | (NftIrBase & { op: 'flushchain'; table: string; chain: string })
  | (NftIrBase & {
      op: 'newrule';
      table: string;
      chain: string;
      exprs: NftIrExpr[];
      userdata?: Uint8Array;
      position?: number;
    })
  | (NftIrBase & { op: 'delrule'; table: string; chain: string; handle: number })
  | (NftIrBase & {
      op: 'newset';
      table: string;
      name: string;
      id: number;
      flags: number;
      keyType: number;
      keyLen: number;
      dataType?: number;
      dataLen?: number;
      policy?: number;
      size?: number;
      fieldLens?: number[];
      timeoutMs?: number;
      gcIntervalMs?: number;
      userdata?: Uint8Array;
      create?: boolean;
    })
  | (NftIrBase & { op: 'delset'; table: string; name: string })
  | (NftIrBase & { op: 'flushset'; table: string; name: string })
  | (NftIrBase & {
      op: 'newsetelem' | 'delsetelem';
      table: string;
      set: string;
      setId?: number;
      elements: NftIrElement[];
      create?: boolean;
    });

/** Objects returned by the native lister (same field names as the operations above). */
export interface NftListedTable {
  family: number;
  name: string;
  handle: number;
  flags: number;
  use?: number;
  userdata?: Uint8Array;
}

export interface NftListedChain {
  family: number;
  table: string;
  name: string;
  handle: number;
  hook?: { hooknum: number; priority: number; dev?: string };
  type?: string;
  policy?: number;
  use?: number;
  flags?: number;
  userdata?: Uint8Array;
}

export interface NftListedSet {
  family: number;
  table: string;
  name: string;
  handle: number;
  flags: number;
  keyType: number;
  keyLen: number;
  dataType?: number;
  dataLen?: number;
  policy?: number;
  size?: number;
  fieldLens?: number[];
  timeoutMs?: number;
  gcIntervalMs?: number;
  userdata?: Uint8Array;
}

export interface NftListedElement {
  key?: Uint8Array;
  keyEnd?: Uint8Array;
  data?: Uint8Array;
  verdict?: NftIrVerdict;
  flags?: number;
  timeoutMs?: number;
  expiresMs?: number;
  userdata?: Uint8Array;
}

/** A listed expression: a known kind with its fields, or an unknown one with its raw attributes. */
export type NftListedExpr = NftIrExpr | { kind: string; raw?: Uint8Array };

export interface NftListedRule {
  family: number;
  table: string;
  chain: string;
  handle: number;
  position?: number;
  exprs: NftListedExpr[];
  userdata?: Uint8Array;
}

/**
 * Converts nft's internal register numbering (32-bit slots counted from 0) into the register the
 * kernel expects, preferring the old 16-byte NFT_REG_1..4 names when the slot is aligned, as nft
 * does (netlink_put_register), so that listings are identical.
 */
export function registerForSlot(slot: number): number {
  if (slot < 0 || slot > 15) throw new RangeError(`register slot ${slot} out of range`);
  return slot % 4 === 0 ? NftReg.reg1 + slot / 4 : NftReg.reg32First + slot;
}

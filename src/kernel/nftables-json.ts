// The subset of libnftables-json (nft -j) that the native compiler understands: what kube-proxy's
// nftables layout needs. The same documents are accepted by `nft -j -f -`.

export type NftFamilyName = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

/** An expression: an immediate (string, number, boolean), a list, or a tagged object. */
export type NftJsonExpr = string | number | boolean | NftJsonExpr[] | NftJsonExprObject;

export interface NftJsonExprObject {
  payload?: { protocol: string; field: string };
  meta?: { key: string };
  ct?: { key: string; dir?: 'original' | 'reply'; family?: string };
  fib?: { result: string; flags?: string | string[] };
  numgen?: { mode: 'random' | 'inc'; mod: number; offset?: number };
  concat?: NftJsonExpr[];
  set?: NftJsonExpr[];
  prefix?: { addr: string; len: number };
  range?: [NftJsonExpr, NftJsonExpr];
  elem?: { val: NftJsonExpr; timeout?: number; expires?: number; comment?: string };
  '&'?: [NftJsonExpr, NftJsonExpr];
  '|'?: [NftJsonExpr, NftJsonExpr];
  '^'?: [NftJsonExpr, NftJsonExpr];
  // Verdicts used as map data.
  accept?: null;
  drop?: null;
  continue?: null;
  return?: null;
  jump?: { target: string };
  goto?: { target: string };
}

export type NftJsonMatchOp = '==' | '!=' | '<' | '>' | '<=' | '>=' | 'in';

/** A statement of a rule's `expr` array. */
export interface NftJsonStatement {
  match?: { op: NftJsonMatchOp; left: NftJsonExpr; right: NftJsonExpr };
  counter?: null | { packets?: number; bytes?: number };
  accept?: null;
  drop?: null;
  continue?: null;
  return?: null;
  jump?: { target: string };
  goto?: { target: string };
  mangle?: { key: NftJsonExpr; value: NftJsonExpr };
  masquerade?: null | { flags?: string | string[] };
  snat?: NftJsonNat;
  dnat?: NftJsonNat;
  reject?: null | { type?: string; expr?: string };
  vmap?: { key: NftJsonExpr; data: NftJsonExpr };
  set?: { op: 'add' | 'update'; elem: NftJsonExpr; set: string };
}

export interface NftJsonNat {
  addr?: string;
  port?: number;
  family?: 'ip' | 'ip6';
  flags?: string | string[];
}

export interface NftJsonTable {
  family: NftFamilyName;
  name: string;
  comment?: string;
  handle?: number;
}

export interface NftJsonChain {
  family: NftFamilyName;
  table: string;
  name: string;
  type?: 'filter' | 'nat' | 'route';
  hook?: string;
  prio?: number | string;
  policy?: 'accept' | 'drop';
  comment?: string;
  handle?: number;
}

export interface NftJsonRule {
  family: NftFamilyName;
  table: string;
  chain: string;
  expr?: NftJsonStatement[];
  comment?: string;
  handle?: number;
}

export interface NftJsonSet {
  family: NftFamilyName;
  table: string;
  name: string;
  /** Required when adding; flush/delete name the set only. */
  type?: string | string[];
  map?: string;
  flags?: string[];
  timeout?: number;
  'gc-interval'?: number;
  size?: number;
  policy?: 'performance' | 'memory';
  elem?: NftJsonExpr[];
  comment?: string;
  handle?: number;
}

export interface NftJsonElement {
  family: NftFamilyName;
  table: string;
  name: string;
  elem: NftJsonExpr[];
}

export interface NftJsonObjects {
  table?: NftJsonTable;
  chain?: NftJsonChain;
  rule?: NftJsonRule;
  set?: NftJsonSet;
  map?: NftJsonSet;
  element?: NftJsonElement;
  ruleset?: null;
}

export interface NftJsonCommand {
  add?: NftJsonObjects;
  create?: NftJsonObjects;
  flush?: NftJsonObjects;
  delete?: NftJsonObjects;
  metainfo?: unknown;
}

export interface NftJsonDocument {
  nftables: NftJsonCommand[];
}

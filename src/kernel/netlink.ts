// The typed face of the native netlink module (native/, built as kpt_netlink.node).
//
// This is the only file that talks to the addon: it declares the native surface once, loads it
// lazily, and wraps it in typed functions. Every call accepts { netns } to work inside
// /var/run/netns/<name> instead of the current network namespace. When the addon cannot be loaded
// (not built, wrong ABI) every function rejects with NativeNetlinkUnavailableError and
// nativeNetlinkStatus() says why, so callers can fall back to the `nft` command.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { compileNftJson, setsNeedingDefinition, type NftCompiledTransaction, type NftKnownSet } from './nftables-compile.js';
import { familyNumber } from './nftables-compile-expr.js';
import { knownSetFromListed } from './nftables-decode.js';
import type {
  NftIrOp,
  NftListedChain,
  NftListedElement,
  NftListedRule,
  NftListedSet,
  NftListedTable,
} from './nftables-ir.js';
import type { NftFamilyName, NftJsonDocument } from './nftables-json.js';

export type { NftKnownSet, NftCompiledTransaction } from './nftables-compile.js';
export { NftCompileError, compileNftJson } from './nftables-compile.js';
export { decodeElements, familyName, knownSetFromListed, type DecodedElement } from './nftables-decode.js';
export type * from './nftables-ir.js';
export type * from './nftables-json.js';

// ---- the native surface -------------------------------------------------------------------------

/** Opaque encoded batch held by the addon (an N-API External). */
declare const batchHandleBrand: unique symbol;
type NativeBatchHandle = { readonly [batchHandleBrand]: true };

interface NativeEncodedBatch {
  handle: NativeBatchHandle;
  messages: number;
  bytes: number;
  chunks: number;
  operations: number;
}

interface NativeBatchFailure {
  opIndex: number;
  seq: number;
  errno: number;
  code: string;
  message: string;
  extackMessage?: string;
  extackOffset?: number;
  extackLocation?: string;
}

interface NativeBatchResult {
  committed: boolean;
  endAcknowledged: boolean;
  messages: number;
  bytes: number;
  sendmsgCalls: number;
  failures: NativeBatchFailure[];
}

interface NativeNftFilter {
  family?: number;
  table?: string;
  chain?: string;
  set?: string;
}

interface NativeBinding {
  abiVersion: number;
  nftEncodeBatch(ops: readonly NftIrOp[]): NativeEncodedBatch;
  nftSendBatch(handle: NativeBatchHandle, options?: NetnsOptions): Promise<NativeBatchResult>;
  nftList(kind: 'tables', filter: NativeNftFilter, options?: NetnsOptions): Promise<NftListedTable[]>;
  nftList(kind: 'chains', filter: NativeNftFilter, options?: NetnsOptions): Promise<NftListedChain[]>;
  nftList(kind: 'sets', filter: NativeNftFilter, options?: NetnsOptions): Promise<NftListedSet[]>;
  nftList(kind: 'elements', filter: NativeNftFilter, options?: NetnsOptions): Promise<NftListedElement[]>;
  nftList(kind: 'rules', filter: NativeNftFilter, options?: NetnsOptions): Promise<NftListedRule[]>;
  testNftDumpRaw(kind: NftListingKind, filter: NativeNftFilter, options?: NetnsOptions): Promise<Uint8Array>;
  testParseReplies(parser: string, bytes: Uint8Array): unknown;
}

/** The addon version this file was written against (native/addon.cc kAbiVersion). */
const EXPECTED_ABI = 2;

// ---- loading --------------------------------------------------------------------------------------

export type NativeNetlinkStatus = { available: true; abiVersion: number } | { available: false; reason: string };

export class NativeNetlinkUnavailableError extends Error {
  override readonly name = 'NativeNetlinkUnavailableError';
}

let loaded: { binding: NativeBinding } | { error: string } | undefined;

function packageRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the package root (binding.gyp) above ' + import.meta.dirname);
    dir = parent;
  }
  return dir;
}

function load(): { binding: NativeBinding } | { error: string } {
  if (loaded) return loaded;
  try {
    const require = createRequire(import.meta.url);
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    const binding = nodeGypBuild(packageRoot()) as NativeBinding;
    if (binding.abiVersion !== EXPECTED_ABI) {
      loaded = { error: `kpt_netlink ABI ${binding.abiVersion}, expected ${EXPECTED_ABI}: rebuild with npm run build:native` };
    } else {
      loaded = { binding };
    }
  } catch (err) {
    loaded = { error: `cannot load the native netlink module: ${(err as Error).message}` };
  }
  return loaded;
}

function native(): NativeBinding {
  const l = load();
  if ('error' in l) throw new NativeNetlinkUnavailableError(l.error);
  return l.binding;
}

/** Whether the addon is usable, and why not. Never throws. */
export function nativeNetlinkStatus(): NativeNetlinkStatus {
  const l = load();
  return 'error' in l ? { available: false, reason: l.error } : { available: true, abiVersion: l.binding.abiVersion };
}

export function isNativeNetlinkAvailable(): boolean {
  return nativeNetlinkStatus().available;
}

// ---- common ---------------------------------------------------------------------------------------

export interface NetnsOptions {
  /** Name under /var/run/netns; omitted = the current network namespace. */
  netns?: string;
}

/** A failed netlink call: errno/code of the system call or of the kernel's NLMSG_ERROR reply. */
export interface NetlinkErrorFields {
  errno?: number;
  code?: string;
  extackMessage?: string;
  extackOffset?: number;
  /** The reply could not be parsed (truncated or inconsistent). */
  malformedReply?: boolean;
}

export type NetlinkError = Error & NetlinkErrorFields;

// ---- nf_tables ------------------------------------------------------------------------------------

export type NftListingKind = 'tables' | 'chains' | 'sets' | 'elements' | 'rules';

export interface NftOperationFailure {
  /** Index of the JSON command in doc.nftables. */
  commandIndex: number;
  /** e.g. "add rule ip kube-proxy services" */
  command: string;
  /** Index of the low-level operation (a command can compile into several). */
  opIndex: number;
  errno: number;
  code: string;
  message: string;
  extackMessage?: string;
  /** Which part of the request the kernel pointed at, e.g. "expression #2 (lookup)". */
  extackLocation?: string;
}

/** The transaction was refused; nothing of it was applied. */
export class NftTransactionError extends Error {
  override readonly name = 'NftTransactionError';
  readonly errno: number;
  readonly code: string;

  constructor(readonly failures: NftOperationFailure[]) {
    const first = failures[0] as NftOperationFailure;
    const where = first.commandIndex >= 0 ? `command #${first.commandIndex} (${first.command})` : 'the batch itself';
    const more = failures.length > 1 ? ` (+${failures.length - 1} more)` : '';
    const ext = first.extackMessage ? `: ${first.extackMessage}` : '';
    const loc = first.extackLocation ? ` [${first.extackLocation}]` : '';
    super(`nf_tables transaction failed at ${where}: ${first.code} ${first.message}${ext}${loc}${more}`);
    this.errno = first.errno;
    this.code = first.code;
  }
}

export interface NftApplyResult {
  messages: number;
  bytes: number;
  sendmsgCalls: number;
  /** The kernel confirmed BATCH_END (kernels >= 6.10; absent on older kernels even on success). */
  endAcknowledged: boolean;
}

/** A compiled and encoded transaction, ready to be sent (possibly several times). */
export interface NftPreparedBatch {
  readonly compiled: NftCompiledTransaction;
  readonly messages: number;
  readonly bytes: number;
  readonly handle: NativeBatchHandle;
}

export interface NftApplyOptions extends NetnsOptions {
  /** Declarations of sets that exist already and receive elements in this document. */
  knownSets?: readonly NftKnownSet[];
  /** Read missing set declarations from the kernel first (default true). */
  resolveSets?: boolean;
}

/** Compiles and encodes a document (synchronous: no kernel access). */
export function prepareNftBatch(
  doc: NftJsonDocument | NftCompiledTransaction,
  options: { knownSets?: readonly NftKnownSet[] } = {},
): NftPreparedBatch {
  const compiled = 'ops' in doc ? doc : compileNftJson(doc, options.knownSets ? { knownSets: options.knownSets } : {});
  const encoded = native().nftEncodeBatch(compiled.ops);
  return { compiled, messages: encoded.messages, bytes: encoded.bytes, handle: encoded.handle };
}

/** Sends a prepared batch as one transaction. Rejects with NftTransactionError if it was refused. */
export async function sendNftBatch(batch: NftPreparedBatch, options: NetnsOptions = {}): Promise<NftApplyResult> {
  const result = await native().nftSendBatch(batch.handle, netnsOnly(options));
  if (!result.committed) {
    throw new NftTransactionError(
      result.failures.map((f) => {
        const commandIndex = f.opIndex >= 0 ? (batch.compiled.opCommand[f.opIndex] ?? -1) : -1;
        return {
          commandIndex,
          command: commandIndex >= 0 ? batch.compiled.describeCommand(commandIndex) : 'batch',
          opIndex: f.opIndex,
          errno: f.errno,
          code: f.code,
          message: f.message,
          ...(f.extackMessage !== undefined ? { extackMessage: f.extackMessage } : {}),
          ...(f.extackLocation !== undefined ? { extackLocation: f.extackLocation } : {}),
        };
      }),
    );
  }
  return {
    messages: result.messages,
    bytes: result.bytes,
    sendmsgCalls: result.sendmsgCalls,
    endAcknowledged: result.endAcknowledged,
  };
}

export interface NftApplyTimings {
  resolveMs: number;
  compileMs: number;
  encodeMs: number;
  sendMs: number;
}

/**
 * Applies an nft JSON document as one all-or-nothing nf_tables transaction (one NFNL batch in one
 * sendmsg). Elements of sets the document does not define are encoded with the set types read
 * from the kernel unless `knownSets` describes them.
 */
export async function applyNftJson(
  doc: NftJsonDocument,
  options: NftApplyOptions = {},
): Promise<NftApplyResult & { timings: NftApplyTimings }> {
  const t0 = performance.now();
  const knownSets = [...(options.knownSets ?? [])];
  if (options.resolveSets !== false) {
    const missing = setsNeedingDefinition(doc, knownSets);
    const tables = new Map(missing.map((m) => [`${m.family} ${m.table}`, m]));
    for (const t of tables.values()) {
      const sets = await listNftSets({ family: t.family as NftFamilyName, table: t.table, netns: options.netns });
      for (const s of sets) {
        const decl = knownSetFromListed(s);
        if (decl) knownSets.push(decl);
      }
    }
  }
  const t1 = performance.now();
  const compiled = compileNftJson(doc, { knownSets });
  const t2 = performance.now();
  const batch = prepareNftBatch(compiled);
  const t3 = performance.now();
  const result = await sendNftBatch(batch, options);
  const t4 = performance.now();
  return { ...result, timings: { resolveMs: t1 - t0, compileMs: t2 - t1, encodeMs: t3 - t2, sendMs: t4 - t3 } };
}

export interface NftListFilter extends NetnsOptions {
  family?: NftFamilyName;
  table?: string;
}

function nftFilter(f: NftListFilter & { chain?: string; set?: string }): NativeNftFilter {
  const out: NativeNftFilter = {};
  if (f.family !== undefined) out.family = familyNumber(f.family);
  if (f.table !== undefined) out.table = f.table;
  if (f.chain !== undefined) out.chain = f.chain;
  if (f.set !== undefined) out.set = f.set;
  return out;
}

function netnsOnly(o: NetnsOptions): NetnsOptions {
  return o.netns === undefined ? {} : { netns: o.netns };
}

export function listNftTables(filter: NftListFilter = {}): Promise<NftListedTable[]> {
  return native().nftList('tables', nftFilter(filter), netnsOnly(filter));
}

export function listNftChains(filter: NftListFilter = {}): Promise<NftListedChain[]> {
  return native().nftList('chains', nftFilter(filter), netnsOnly(filter));
}

export function listNftSets(filter: NftListFilter = {}): Promise<NftListedSet[]> {
  return native().nftList('sets', nftFilter(filter), netnsOnly(filter));
}

export function listNftSetElements(
  filter: NetnsOptions & { family: NftFamilyName; table: string; set: string },
): Promise<NftListedElement[]> {
  return native().nftList('elements', nftFilter(filter), netnsOnly(filter));
}

export function listNftRules(filter: NftListFilter & { chain?: string } = {}): Promise<NftListedRule[]> {
  return native().nftList('rules', nftFilter(filter), netnsOnly(filter));
}

// ---- test-only entry points ------------------------------------------------------------------------

/** Not part of the API: used by test/native to fuzz the reply parsers and to capture real replies. */
export const nativeTesting = {
  parseReplies(parser: string, bytes: Uint8Array): unknown {
    return native().testParseReplies(parser, bytes);
  },
  nftDumpRaw(kind: NftListingKind, filter: NftListFilter & { chain?: string; set?: string } = {}): Promise<Uint8Array> {
    return native().testNftDumpRaw(kind, nftFilter(filter), netnsOnly(filter));
  },
};

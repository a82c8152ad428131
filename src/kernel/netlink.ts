// The typed face of the native netlink module (native/, built as kpt_netlink.node).
//
// This is the only file that talks to the addon: it declares the native surface once, loads it
// lazily, and wraps it in typed functions. Every call accepts { netns } to work inside
// /var/run/netns/<name> instead of the current network namespace. When the addon cannot be loaded
// (not built, wrong ABI) every function rejects with NativeNetlinkUnavailableError and
// nativeNetlinkStatus() says why, so callers can fall back to the `nft` command. Functions that
// return a Promise never throw synchronously: bad arguments reject with a TypeError too.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  compileNftJsonInto,
  setsNeedingDefinition,
  type NftCompiledTransaction,
  type NftKnownSet,
} from './nftables-compile.js';
import { familyNumber } from './nftables-compile-expr.js';
import { knownSetFromListed } from './nftables-decode.js';
import { WIRE_FIELD_NAMES, WireStream, encodeWire } from './nftables-wire.js';
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
  /** Takes the buffer from nftables-wire.ts (encodeWire). */
  nftEncodeBatch(wire: Uint8Array): NativeEncodedBatch;
  /** Comma-separated wire field names, which must equal WIRE_FIELD_NAMES. */
  wireFields: string;
  nftSendBatch(handle: NativeBatchHandle, options?: NetnsOptions): Promise<NativeBatchResult>;
  nftList(kind: 'tables', filter: NativeNftFilter, options?: NetnsOptions): Promise<NftListedTable[]>;
  nftList(kind: 'chains', filter: NativeNftFilter, options?: NetnsOptions): Promise<NftListedChain[]>;
  nftList(kind: 'sets', filter: NativeNftFilter, options?: NetnsOptions): Promise<NftListedSet[]>;
  nftList(kind: 'elements', filter: NativeNftFilter, options?: NetnsOptions): Promise<NftListedElement[]>;
  nftList(kind: 'rules', filter: NativeNftFilter, options?: NetnsOptions): Promise<NftListedRule[]>;
  testNftDumpRaw(kind: NftListingKind, filter: NativeNftFilter, options?: NetnsOptions): Promise<Uint8Array>;
  testParseReplies(parser: string, bytes: Uint8Array): unknown;

  rtnlLinkAdd(link: LinkSpec, options?: NetnsOptions): Promise<null>;
  rtnlLinkDelete(name: string, options?: NetnsOptions): Promise<null>;
  rtnlLinkSetUp(name: string, up: boolean, options?: NetnsOptions): Promise<null>;
  rtnlLinkList(options?: NetnsOptions): Promise<LinkInfo[]>;
  rtnlAddrApply(ops: readonly AddressOperation[], options?: NetnsOptions): Promise<BatchResults>;
  rtnlAddrList(filter: { link?: string; family?: number }, options?: NetnsOptions): Promise<AddressInfo[]>;

  ipvsProbe(options?: NetnsOptions): Promise<IpvsProbe>;
  ipvsApply(ops: readonly IpvsOperation[], options?: NetnsOptions): Promise<BatchResults>;
  ipvsListServices(options?: NetnsOptions): Promise<IpvsServiceInfo[]>;
  ipvsListDestinations(service: IpvsServiceKey, options?: NetnsOptions): Promise<IpvsDestinationInfo[]>;
  ipvsGetTimeouts(options?: NetnsOptions): Promise<IpvsTimeouts>;
  testEncodeIpvs(ops: readonly IpvsOperation[]): Uint8Array;

  conntrackList(filter: ConntrackFilter, options?: NetnsOptions): Promise<ConntrackEntry[]>;
  conntrackDelete(filter: ConntrackFilter, options?: NetnsOptions): Promise<ConntrackDeleteResult>;
}

/** The addon version this file was written against (native/addon.cc kAbiVersion). */
const EXPECTED_ABI = 3;

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

/**
 * KPT_NETLINK_ADDON=/path/to/kpt_netlink.node loads that file instead of the normal build (a
 * sanitizer build, or a missing file to exercise the fallback path).
 */
function load(): { binding: NativeBinding } | { error: string } {
  if (loaded) return loaded;
  try {
    const require = createRequire(import.meta.url);
    const override = process.env.KPT_NETLINK_ADDON;
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    const binding = (override ? require(override) : nodeGypBuild(packageRoot())) as NativeBinding;
    if (binding.abiVersion !== EXPECTED_ABI || binding.wireFields !== WIRE_FIELD_NAMES.join(',')) {
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

/**
 * An encoded transaction, ready to be sent (possibly several times). It keeps what error
 * messages need (which command each operation came from), not the compiled operations, so that
 * a large transaction's objects can be collected once the batch is built.
 */
export interface NftPreparedBatch {
  readonly commands: Pick<NftCompiledTransaction, 'opCommand' | 'describeCommand'>;
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

/**
 * Compiles and encodes a document, or encodes an already compiled one (synchronous: no kernel
 * access). A document is compiled straight into the operation buffer, so its operation objects
 * never pile up: at kube-proxy scale that halves the time, which otherwise goes to the GC.
 */
export function prepareNftBatch(
  doc: NftJsonDocument | NftCompiledTransaction,
  options: { knownSets?: readonly NftKnownSet[] } = {},
): NftPreparedBatch {
  const binding = native();
  let wire: Uint8Array;
  let commands: NftPreparedBatch['commands'];
  if ('ops' in doc) {
    wire = encodeWire(doc.ops);
    commands = { opCommand: doc.opCommand, describeCommand: doc.describeCommand };
  } else {
    const stream = new WireStream();
    commands = compileNftJsonInto(doc, (op) => stream.write(op), options.knownSets ? { knownSets: options.knownSets } : {});
    wire = stream.finish();
  }
  const encoded = binding.nftEncodeBatch(wire);
  return { commands, messages: encoded.messages, bytes: encoded.bytes, handle: encoded.handle };
}

/** Sends a prepared batch as one transaction. Rejects with NftTransactionError if it was refused. */
export async function sendNftBatch(batch: NftPreparedBatch, options: NetnsOptions = {}): Promise<NftApplyResult> {
  const result = await native().nftSendBatch(batch.handle, netnsOnly(options));
  if (!result.committed) {
    throw new NftTransactionError(
      result.failures.map((f) => {
        const commandIndex = f.opIndex >= 0 ? (batch.commands.opCommand[f.opIndex] ?? -1) : -1;
        return {
          commandIndex,
          command: commandIndex >= 0 ? batch.commands.describeCommand(commandIndex) : 'batch',
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
  /** Reading set declarations from the kernel. */
  resolveMs: number;
  /** Compiling and encoding the batch. */
  prepareMs: number;
  /** sendmsg, the kernel's processing and commit, reading the replies. */
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
      // A missing table just means there is nothing to learn; the compiler then names the set.
      const sets = await listNftSets({ family: t.family as NftFamilyName, table: t.table, netns: options.netns }).catch(
        (err: NetlinkError) => {
          if (err.code === 'ENOENT') return [];
          throw err;
        },
      );
      for (const s of sets) {
        const decl = knownSetFromListed(s);
        if (decl) knownSets.push(decl);
      }
    }
  }
  const t1 = performance.now();
  const batch = prepareNftBatch(doc, { knownSets });
  const t2 = performance.now();
  const result = await sendNftBatch(batch, options);
  const t3 = performance.now();
  return { ...result, timings: { resolveMs: t1 - t0, prepareMs: t2 - t1, sendMs: t3 - t2 } };
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

export async function listNftTables(filter: NftListFilter = {}): Promise<NftListedTable[]> {
  return native().nftList('tables', nftFilter(filter), netnsOnly(filter));
}

export async function listNftChains(filter: NftListFilter = {}): Promise<NftListedChain[]> {
  return native().nftList('chains', nftFilter(filter), netnsOnly(filter));
}

export async function listNftSets(filter: NftListFilter = {}): Promise<NftListedSet[]> {
  return native().nftList('sets', nftFilter(filter), netnsOnly(filter));
}

export async function listNftSetElements(
  filter: NetnsOptions & { family: NftFamilyName; table: string; set: string },
): Promise<NftListedElement[]> {
  return native().nftList('elements', nftFilter(filter), netnsOnly(filter));
}

export async function listNftRules(filter: NftListFilter & { chain?: string } = {}): Promise<NftListedRule[]> {
  return native().nftList('rules', nftFilter(filter), netnsOnly(filter));
}

// ---- per-operation results (rtnetlink, IPVS: no transactions) ----------------------------------------

export type OperationResult =
  | { ok: true }
  | { ok: false; errno: number; code: string; message: string; extackMessage?: string };

export interface BatchResults {
  /** One result per operation, in order; earlier successes stay applied when a later one fails. */
  results: OperationResult[];
  sendmsgCalls: number;
}

/** Throws the first failure of a batch as an Error with errno/code, naming the operation. */
export function firstFailure(results: BatchResults, describe: (index: number) => string): void {
  const index = results.results.findIndex((r) => !r.ok);
  if (index < 0) return;
  const r = results.results[index] as Extract<OperationResult, { ok: false }>;
  const err = new Error(`${describe(index)}: ${r.code} ${r.message}`) as NetlinkError;
  err.errno = r.errno;
  err.code = r.code;
  throw err;
}

// ---- rtnetlink ------------------------------------------------------------------------------------

export interface LinkSpec {
  name: string;
  /** 'dummy' (kube-ipvs0), 'bridge', 'veth' (needs peer), or any rtnl link kind. */
  kind: string;
  peer?: string;
}

export interface LinkInfo {
  index: number;
  name: string;
  flags: number;
  up: boolean;
  mtu?: number;
  operState?: number;
  address?: string;
  kind?: string;
}

export interface AddressOperation {
  op: 'add' | 'delete';
  link: string;
  address: string;
  prefixLen: number;
  /** IPv6: skip duplicate address detection. */
  noDad?: boolean;
  /** add: replace an existing address instead of failing with EEXIST. */
  replace?: boolean;
}

export interface AddressInfo {
  index: number;
  family: number;
  address: string;
  prefixLen: number;
  scope: number;
  flags: number;
  label?: string;
}

export async function addLink(link: LinkSpec, options: NetnsOptions = {}): Promise<void> {
  return native().rtnlLinkAdd(link, netnsOnly(options)).then(() => undefined);
}

export async function deleteLink(name: string, options: NetnsOptions = {}): Promise<void> {
  return native().rtnlLinkDelete(name, netnsOnly(options)).then(() => undefined);
}

export async function setLinkUp(name: string, up: boolean, options: NetnsOptions = {}): Promise<void> {
  return native().rtnlLinkSetUp(name, up, netnsOnly(options)).then(() => undefined);
}

export async function listLinks(options: NetnsOptions = {}): Promise<LinkInfo[]> {
  return native().rtnlLinkList(netnsOnly(options));
}

export async function getLink(name: string, options: NetnsOptions = {}): Promise<LinkInfo | undefined> {
  return (await listLinks(options)).find((l) => l.name === name);
}

/** Adds/deletes many addresses with one sendmsg per ~2000 operations; one result each. */
export async function applyAddresses(ops: readonly AddressOperation[], options: NetnsOptions = {}): Promise<BatchResults> {
  return native().rtnlAddrApply(ops, netnsOnly(options));
}

export async function addAddress(
  link: string,
  address: string,
  prefixLen: number,
  options: NetnsOptions & { noDad?: boolean; replace?: boolean } = {},
): Promise<void> {
  const { netns, ...flags } = options;
  const r = await applyAddresses([{ op: 'add', link, address, prefixLen, ...flags }], netns === undefined ? {} : { netns });
  firstFailure(r, () => `add address ${address}/${prefixLen} to ${link}`);
}

export async function deleteAddress(link: string, address: string, prefixLen: number, options: NetnsOptions = {}): Promise<void> {
  const r = await applyAddresses([{ op: 'delete', link, address, prefixLen }], netnsOnly(options));
  firstFailure(r, () => `delete address ${address}/${prefixLen} from ${link}`);
}

export async function listAddresses(
  filter: NetnsOptions & { link?: string; family?: 'ipv4' | 'ipv6' } = {},
): Promise<AddressInfo[]> {
  const f: { link?: string; family?: number } = {};
  if (filter.link !== undefined) f.link = filter.link;
  if (filter.family !== undefined) f.family = filter.family === 'ipv4' ? 2 : 10;
  return native().rtnlAddrList(f, netnsOnly(filter));
}

// ---- IPVS (generic netlink) ---------------------------------------------------------------------

/** IP_VS_CONN_F_* forwarding methods. */
export const IpvsForward = { masquerade: 0, localNode: 1, tunnel: 2, directRoute: 3 } as const;
/** IP_VS_SVC_F_* service flags. */
export const IpvsServiceFlags = { persistent: 0x1, hashed: 0x2, onePacket: 0x4 } as const;

/** Identifies a virtual service: protocol + address + port, or an fwmark (with family). */
export interface IpvsServiceKey {
  family?: 2 | 10;
  protocol?: number;
  address?: string;
  port?: number;
  fwmark?: number;
}

export interface IpvsService extends IpvsServiceKey {
  scheduler?: string;
  flags?: number;
  /** Persistence timeout in seconds (session affinity). */
  timeout?: number;
  /** Persistence netmask as a prefix length (32 / 128 by default). */
  netmask?: number;
  pe?: string;
}

export interface IpvsDestination {
  address: string;
  port: number;
  weight?: number;
  fwdMethod?: number;
  upperThreshold?: number;
  lowerThreshold?: number;
}

export interface IpvsTimeouts {
  tcp?: number;
  tcpFin?: number;
  udp?: number;
}

export type IpvsOperation =
  | { op: 'addService' | 'editService'; service: IpvsService }
  | { op: 'deleteService'; service: IpvsServiceKey }
  | { op: 'addDestination' | 'editDestination'; service: IpvsServiceKey; destination: IpvsDestination }
  | { op: 'deleteDestination'; service: IpvsServiceKey; destination: Pick<IpvsDestination, 'address' | 'port'> }
  | { op: 'flush' }
  | { op: 'setTimeouts'; timeouts: IpvsTimeouts };

export interface IpvsStats {
  connections?: number;
  packetsIn?: number;
  packetsOut?: number;
  bytesIn?: number;
  bytesOut?: number;
}

export interface IpvsServiceInfo extends IpvsService {
  family: 2 | 10;
  scheduler: string;
  flags: number;
  timeout: number;
  netmask: number;
  stats?: IpvsStats;
}

export interface IpvsDestinationInfo {
  family: number;
  address: string;
  port: number;
  fwdMethod: number;
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  activeConnections: number;
  inactiveConnections: number;
  persistentConnections: number;
  stats?: IpvsStats;
}

export interface IpvsProbe {
  available: boolean;
  familyId?: number;
  genlVersion?: number;
}

/** Whether the kernel has IPVS (the generic netlink family "IPVS"); never throws for its absence. */
export async function probeIpvs(options: NetnsOptions = {}): Promise<IpvsProbe> {
  return native().ipvsProbe(netnsOnly(options));
}

/**
 * Runs IPVS operations, many per sendmsg. IPVS has no transactions: each operation succeeds or
 * fails on its own and the results say which. Rejects (ENOENT) when IPVS is absent.
 */
export async function applyIpvs(ops: readonly IpvsOperation[], options: NetnsOptions = {}): Promise<BatchResults> {
  return native().ipvsApply(ops, netnsOnly(options));
}

export async function listIpvsServices(options: NetnsOptions = {}): Promise<IpvsServiceInfo[]> {
  return native().ipvsListServices(netnsOnly(options));
}

export async function listIpvsDestinations(service: IpvsServiceKey, options: NetnsOptions = {}): Promise<IpvsDestinationInfo[]> {
  return native().ipvsListDestinations(service, netnsOnly(options));
}

export async function getIpvsTimeouts(options: NetnsOptions = {}): Promise<IpvsTimeouts> {
  return native().ipvsGetTimeouts(netnsOnly(options));
}

export async function setIpvsTimeouts(timeouts: IpvsTimeouts, options: NetnsOptions = {}): Promise<void> {
  firstFailure(await applyIpvs([{ op: 'setTimeouts', timeouts }], options), () => 'set IPVS timeouts');
}

export async function flushIpvs(options: NetnsOptions = {}): Promise<void> {
  firstFailure(await applyIpvs([{ op: 'flush' }], options), () => 'flush IPVS');
}

// ---- conntrack ---------------------------------------------------------------------------------------

/** All given fields must match (exact match on the original/reply tuples). */
export interface ConntrackFilter {
  family?: 2 | 10;
  /** IPPROTO_* (17 for UDP). Required for deletion. */
  protocol?: number;
  origSrc?: string;
  origDst?: string;
  origDstPort?: number;
  replySrc?: string;
}

export interface ConntrackTuple {
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
}

export interface ConntrackEntry {
  family: number;
  protocol: number;
  orig: ConntrackTuple;
  reply: ConntrackTuple;
  status?: number;
  timeout?: number;
  mark?: number;
  zone?: number;
  id?: number;
}

export interface ConntrackDeleteResult {
  matched: number;
  deleted: number;
  /** Entries that expired or were removed between listing and deleting. */
  alreadyGone: number;
  sendmsgCalls: number;
}

export async function listConntrack(filter: ConntrackFilter = {}, options: NetnsOptions = {}): Promise<ConntrackEntry[]> {
  return native().conntrackList(filter, netnsOnly(options));
}

/** Deletes the entries matching the filter (e.g. UDP to a service IP whose reply came from a gone endpoint). */
export async function deleteConntrack(filter: ConntrackFilter, options: NetnsOptions = {}): Promise<ConntrackDeleteResult> {
  return native().conntrackDelete(filter, netnsOnly(options));
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
  /** Encodes a raw wire buffer (see nftables-wire.ts): lets the fuzz test feed malformed ones. */
  encodeWireBuffer(wire: Uint8Array): { messages: number; bytes: number } {
    const { messages, bytes } = native().nftEncodeBatch(wire);
    return { messages, bytes };
  },
  /** IPVS request messages as bytes (family id 0x42), to round-trip through the reply parsers. */
  encodeIpvs(ops: readonly IpvsOperation[]): Uint8Array {
    return native().testEncodeIpvs(ops);
  },
};

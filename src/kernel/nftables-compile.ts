// Compiles an nft JSON document (the subset in nftables-json.ts) into the low-level operations
// of one nf_tables transaction. The result is what the native module frames into a single
// NFNL batch; `nft -j -f -` accepts the same document.
import { NftValueError, datatypeByName, keyTypeOf, type NftDatatype } from './nftables-datatypes.js';
import { NftCompileError, familyNumber } from './nftables-compile-expr.js';
import { compileElements, type NftSetShape } from './nftables-compile-elements.js';
import { compileRuleStatements } from './nftables-compile-rule.js';
import { NFT_DATA_VERDICT, NfInetHook, NfProto, NftChainPolicy, NftSetFlags, type NftIrOp } from './nftables-ir.js';
import type {
  NftJsonChain,
  NftJsonCommand,
  NftJsonDocument,
  NftJsonElement,
  NftJsonObjects,
  NftJsonRule,
  NftJsonSet,
  NftJsonTable,
} from './nftables-json.js';
import { Udata, commentUdata, setUdata } from './nftables-udata.js';

export { NftCompileError } from './nftables-compile-expr.js';

/** A set that exists in the kernel already: element commands need its key type. */
export interface NftKnownSet {
  family: string;
  table: string;
  name: string;
  type: string | string[];
  map?: string;
  flags?: string[];
}

export interface NftCompileOptions {
  knownSets?: readonly NftKnownSet[];
}

export interface NftCompiledTransaction {
  ops: NftIrOp[];
  /** For every operation, the index of the JSON command it came from. */
  opCommand: number[];
  /** Short text for a command, used in error messages ("add rule ip kube-proxy services"). */
  describeCommand(index: number): string;
}

/** Standard priority names (nft's "dstnat", "srcnat", ... for ip/ip6/inet). */
const priorityNames: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
const setFlagBits: Record<string, number> = {
  constant: NftSetFlags.constant,
  interval: NftSetFlags.interval,
  timeout: NftSetFlags.timeout,
  dynamic: NftSetFlags.eval,
};

interface SetInfo {
  shape: NftSetShape;
  id?: number;
  createdHere: boolean;
  elementsAddedHere: boolean;
}

function setKey(family: number, table: string, name: string): string {
  return `${family}\u0000${table}\u0000${name}`;
}

/** The shape (key, data, interval) of a set declared in JSON or known from the kernel. */
export function setShapeOf(decl: { type: string | string[]; map?: string; flags?: string[] }): NftSetShape {
  const types = (Array.isArray(decl.type) ? decl.type : [decl.type]).map(datatypeByName);
  const shape: NftSetShape = { key: keyTypeOf(types), interval: (decl.flags ?? []).includes('interval') };
  if (decl.map !== undefined) {
    shape.data = decl.map === 'verdict' ? { kind: 'verdict' } : { kind: 'value', type: datatypeByName(decl.map) };
  }
  return shape;
}

function describe(cmd: NftJsonCommand): string {
  for (const verb of ['add', 'create', 'flush', 'delete'] as const) {
    const objects = cmd[verb];
    if (!objects) continue;
    const [kind, body] = Object.entries(objects)[0] ?? ['?', undefined];
    if (kind === 'ruleset') return `${verb} ruleset`;
    const o = (body ?? {}) as { family?: string; table?: string; name?: string; chain?: string; handle?: number; elem?: unknown[] };
    const where = kind === 'table' ? `${o.family} ${o.name}` : `${o.family} ${o.table} ${kind === 'rule' ? o.chain : o.name}`;
    const extra =
      kind === 'rule' && o.handle !== undefined
        ? ` handle ${o.handle}`
        : kind === 'element' && Array.isArray(o.elem)
          ? ` (${o.elem.length} element${o.elem.length === 1 ? '' : 's'})`
          : '';
    return `${verb} ${kind} ${where}${extra}`;
  }
  return cmd.metainfo !== undefined ? 'metainfo' : 'unknown command';
}

/** Where compiled operations go: collected in an array, or serialised at once (see nftables-wire.ts). */
export type NftOpSink = (op: NftIrOp) => void;

class TransactionCompiler {
  readonly opCommand: number[] = [];
  private readonly sets = new Map<string, SetInfo>();
  /** Sets that some rule of the document updates from the packet path (nft makes them dynamic). */
  private dynamicSets = new Set<string>();
  private nextId = 1;
  private command = 0;

  constructor(
    knownSets: readonly NftKnownSet[],
    private readonly sink: NftOpSink,
  ) {
    for (const s of knownSets) {
      this.sets.set(setKey(familyNumber(s.family), s.table, s.name), {
        shape: setShapeOf(s),
        createdHere: false,
        elementsAddedHere: false,
      });
    }
  }

  compile(doc: NftJsonDocument): void {
    if (!doc || !Array.isArray(doc.nftables)) throw new NftCompileError('document must be {"nftables": [...]}');
    this.dynamicSets = dynamicSetsOf(doc);
    doc.nftables.forEach((cmd, i) => {
      this.command = i;
      try {
        this.compileCommand(cmd);
      } catch (err) {
        if (err instanceof NftCompileError || err instanceof NftValueError || err instanceof RangeError) {
          throw new NftCompileError(`command #${i} (${describe(cmd)}): ${err.message}`);
        }
        throw err;
      }
    });
  }

  private emit(op: NftIrOp): void {
    this.sink(op);
    this.opCommand.push(this.command);
  }

  private compileCommand(cmd: NftJsonCommand): void {
    if (cmd.metainfo !== undefined) return;
    const verbs = (['add', 'create', 'flush', 'delete'] as const).filter((v) => cmd[v] !== undefined);
    if (verbs.length !== 1) throw new NftCompileError(`unsupported command ${JSON.stringify(Object.keys(cmd))}`);
    const verb = verbs[0] as 'add' | 'create' | 'flush' | 'delete';
    const objects = cmd[verb] as NftJsonObjects;
    const kinds = Object.keys(objects) as (keyof NftJsonObjects)[];
    if (kinds.length !== 1) throw new NftCompileError('a command names exactly one object');
    const kind = kinds[0] as keyof NftJsonObjects;
    const create = verb === 'create';
    switch (`${verb === 'create' ? 'add' : verb} ${kind}`) {
      case 'add table':
        return this.addTable(objects.table as NftJsonTable, create);
      case 'add chain':
        return this.addChain(objects.chain as NftJsonChain, create);
      case 'add rule':
        return this.addRule(objects.rule as NftJsonRule);
      case 'add set':
        return this.addSet(objects.set as NftJsonSet, false, create);
      case 'add map':
        return this.addSet(objects.map as NftJsonSet, true, create);
      case 'add element':
        return this.elements(objects.element as NftJsonElement, false, create);
      case 'delete element':
        return this.elements(objects.element as NftJsonElement, true, false);
      case 'flush ruleset':
        return this.emit({ op: 'deltable', family: NfProto.unspec });
      case 'flush table': {
        const t = objects.table as NftJsonTable;
        return this.emit({ op: 'flushtable', family: familyNumber(t.family), table: t.name });
      }
      case 'delete table': {
        const t = objects.table as NftJsonTable;
        return this.emit({ op: 'deltable', family: familyNumber(t.family), name: t.name });
      }
      case 'flush chain': {
        const c = objects.chain as NftJsonChain;
        return this.emit({ op: 'flushchain', family: familyNumber(c.family), table: c.table, chain: c.name });
      }
      case 'delete chain': {
        const c = objects.chain as NftJsonChain;
        return this.emit({ op: 'delchain', family: familyNumber(c.family), table: c.table, name: c.name });
      }
      case 'delete rule': {
        const r = objects.rule as NftJsonRule;
        if (r.handle === undefined) throw new NftCompileError('delete rule needs a handle');
        return this.emit({ op: 'delrule', family: familyNumber(r.family), table: r.table, chain: r.chain, handle: r.handle });
      }
      case 'flush set':
      case 'flush map': {
        const s = (objects.set ?? objects.map) as NftJsonSet;
        return this.emit({ op: 'flushset', family: familyNumber(s.family), table: s.table, name: s.name });
      }
      case 'delete set':
      case 'delete map': {
        const s = (objects.set ?? objects.map) as NftJsonSet;
        const family = familyNumber(s.family);
        this.sets.delete(setKey(family, s.table, s.name));
        return this.emit({ op: 'delset', family, table: s.table, name: s.name });
      }
      default:
        throw new NftCompileError(`unsupported command '${verb} ${kind}'`);
    }
  }

  private addTable(t: NftJsonTable, create: boolean): void {
    this.emit({
      op: 'newtable',
      family: familyNumber(t.family),
      name: t.name,
      flags: 0,
      ...(t.comment !== undefined ? { userdata: commentUdata(Udata.tableComment, t.comment) } : {}),
      ...(create ? { create } : {}),
    });
  }

  private addChain(c: NftJsonChain, create: boolean): void {
    const family = familyNumber(c.family);
    const base = c.type !== undefined || c.hook !== undefined || c.prio !== undefined;
    const op: NftIrOp & { op: 'newchain' } = { op: 'newchain', family, table: c.table, name: c.name };
    if (base) {
      if (c.type === undefined || c.hook === undefined || c.prio === undefined) {
        throw new NftCompileError('a base chain needs type, hook and prio');
      }
      const hooknum = (NfInetHook as Record<string, number>)[c.hook];
      if (hooknum === undefined || c.hook === 'ingress') throw new NftCompileError(`unsupported hook '${c.hook}'`);
      const priority = typeof c.prio === 'number' ? c.prio : priorityNames[c.prio];
      if (priority === undefined || !Number.isInteger(priority)) throw new NftCompileError(`invalid prio ${JSON.stringify(c.prio)}`);
      op.hook = { hooknum, priority };
      op.type = c.type;
      if (c.policy !== undefined) {
        const policy = NftChainPolicy[c.policy];
        if (policy === undefined) throw new NftCompileError(`invalid policy '${String(c.policy)}'`);
        op.policy = policy;
      }
    } else if (c.policy !== undefined) {
      throw new NftCompileError('only base chains have a policy');
    }
    if (c.comment !== undefined) op.userdata = commentUdata(Udata.chainComment, c.comment);
    if (create) op.create = true;
    this.emit(op);
  }

  private addRule(r: NftJsonRule): void {
    const family = familyNumber(r.family);
    const compiled = compileRuleStatements(r.expr ?? [], {
      family,
      table: r.table,
      nextSetId: () => this.nextId++,
    });
    for (const op of compiled.anonymousSets) this.emit(op);
    this.emit({
      op: 'newrule',
      family,
      table: r.table,
      chain: r.chain,
      exprs: compiled.exprs,
      ...(r.comment !== undefined ? { userdata: commentUdata(Udata.ruleComment, r.comment) } : {}),
    });
  }

  private addSet(s: NftJsonSet, isMap: boolean, create: boolean): void {
    const family = familyNumber(s.family);
    if (isMap !== (s.map !== undefined)) {
      throw new NftCompileError(isMap ? 'a map needs "map" (its data type)' : 'a set has no "map"; use a map object');
    }
    if (s.type === undefined) throw new NftCompileError('a set needs a "type"');
    const shape = setShapeOf({ ...s, type: s.type });
    let flags = isMap ? NftSetFlags.map : 0;
    for (const name of s.flags ?? []) {
      const bit = setFlagBits[name];
      if (bit === undefined) throw new NftCompileError(`unsupported set flag '${name}'`);
      flags |= bit;
    }
    // Like nft: a default timeout implies the timeout flag, and a set that rules update from
    // the packet path is dynamic.
    if (s.timeout !== undefined) flags |= NftSetFlags.timeout;
    if (this.dynamicSets.has(setKey(family, s.table, s.name))) flags |= NftSetFlags.eval;
    const concatInterval = shape.interval && shape.key.isConcat;
    if (concatInterval) flags |= NftSetFlags.concat;
    const id = this.nextId++;
    const dataType: NftDatatype | undefined = shape.data?.kind === 'value' ? shape.data.type : undefined;
    const newset: NftIrOp & { op: 'newset' } = {
      op: 'newset',
      family,
      table: s.table,
      name: s.name,
      id,
      flags,
      keyType: shape.key.id,
      keyLen: shape.key.len,
      ...(shape.data ? { dataType: dataType?.id ?? NFT_DATA_VERDICT, dataLen: dataType?.size ?? 0 } : {}),
      ...(s.policy !== undefined ? { policy: s.policy === 'memory' ? 1 : 0 } : {}),
      ...(s.size !== undefined ? { size: s.size } : {}),
      ...(concatInterval ? { fieldLens: shape.key.parts.map((p) => p.size) } : {}),
      ...(s.timeout !== undefined ? { timeoutMs: Math.round(s.timeout * 1000) } : {}),
      ...(s['gc-interval'] !== undefined ? { gcIntervalMs: Math.round(s['gc-interval'] * 1000) } : {}),
      userdata: setUdata({
        keyByteorder: shape.key.byteorder,
        ...(shape.data ? { dataByteorder: dataType?.byteorder ?? 0 } : {}),
        keyIsConcat: shape.key.isConcat,
        anonymous: false,
        ...(s.comment !== undefined ? { comment: s.comment } : {}),
      }),
      ...(create ? { create } : {}),
    };
    this.emit(newset);
    const info: SetInfo = { shape, id, createdHere: true, elementsAddedHere: false };
    this.sets.set(setKey(family, s.table, s.name), info);
    if (s.elem && s.elem.length > 0) {
      this.elements({ family: s.family, table: s.table, name: s.name, elem: s.elem }, false, false);
    }
  }

  private elements(e: NftJsonElement, del: boolean, create: boolean): void {
    const family = familyNumber(e.family);
    const info = this.sets.get(setKey(family, e.table, e.name));
    if (!info) {
      throw new NftCompileError(
        `set ${e.family} ${e.table} ${e.name} is neither defined in this transaction nor given in knownSets`,
      );
    }
    if (!Array.isArray(e.elem) || e.elem.length === 0) throw new NftCompileError('"elem" must be a non-empty array');
    const elements = compileElements(info.shape, e.elem, {
      forDelete: del,
      merge: false,
      firstSegment: info.createdHere && !info.elementsAddedHere,
    });
    if (!del) info.elementsAddedHere = true;
    this.emit({
      op: del ? 'delsetelem' : 'newsetelem',
      family,
      table: e.table,
      set: e.name,
      ...(info.createdHere && info.id !== undefined ? { setId: info.id } : {}),
      elements,
      ...(create ? { create } : {}),
    });
  }
}

/** Keys of the sets that `set` statements (add/update @set from the packet path) refer to. */
function dynamicSetsOf(doc: NftJsonDocument): Set<string> {
  const out = new Set<string>();
  for (const cmd of doc.nftables) {
    const rule = cmd.add?.rule ?? cmd.create?.rule;
    if (!rule?.expr) continue;
    for (const statement of rule.expr) {
      const target = statement.set?.set;
      if (typeof target === 'string' && target.startsWith('@')) {
        out.add(setKey(familyNumber(rule.family), rule.table, target.slice(1)));
      }
    }
  }
  return out;
}

/**
 * Compiles a document, handing every operation to `sink` as soon as it is built (so that a large
 * transaction never holds all its operation objects at once). Returns the command index of each
 * operation, in order.
 */
export function compileNftJsonInto(
  doc: NftJsonDocument,
  sink: NftOpSink,
  options: NftCompileOptions = {},
): Pick<NftCompiledTransaction, 'opCommand' | 'describeCommand'> {
  const compiler = new TransactionCompiler(options.knownSets ?? [], sink);
  compiler.compile(doc);
  return {
    opCommand: compiler.opCommand,
    describeCommand: (index) => {
      const cmd = doc.nftables[index];
      return cmd ? describe(cmd) : `command #${index}`;
    },
  };
}

export function compileNftJson(doc: NftJsonDocument, options: NftCompileOptions = {}): NftCompiledTransaction {
  const ops: NftIrOp[] = [];
  const result = compileNftJsonInto(doc, (op) => ops.push(op), options);
  return { ops, ...result };
}

/**
 * Sets that element commands of `doc` modify but that the document does not define and the
 * caller did not describe: their key types must be read from the kernel before compiling.
 */
export function setsNeedingDefinition(
  doc: NftJsonDocument,
  knownSets: readonly NftKnownSet[] = [],
): { family: string; table: string; name: string }[] {
  const defined = new Set(knownSets.map((s) => `${s.family} ${s.table} ${s.name}`));
  const needed = new Map<string, { family: string; table: string; name: string }>();
  for (const cmd of doc.nftables ?? []) {
    for (const verb of ['add', 'create', 'delete'] as const) {
      const o = cmd[verb];
      const def = o?.set ?? o?.map;
      if (def && verb !== 'delete') defined.add(`${def.family} ${def.table} ${def.name}`);
      const el = o?.element;
      if (el) {
        const k = `${el.family} ${el.table} ${el.name}`;
        if (!defined.has(k)) needed.set(k, { family: el.family, table: el.table, name: el.name });
      }
    }
  }
  return [...needed.values()];
}


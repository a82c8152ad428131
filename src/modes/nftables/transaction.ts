/**
 * One nf_tables transaction as an nft JSON document ({"nftables": [commands]}), the single model
 * both appliers consume: `nft -j -f -` reads it as is, the native applier compiles it to one
 * netlink batch. Commands stay in the order they are added; the kernel applies all or nothing.
 */
import type {
  NftFamilyName,
  NftJsonChain,
  NftJsonCommand,
  NftJsonDocument,
  NftJsonExpr,
  NftJsonSet,
  NftJsonStatement,
} from '../../kernel/nftables-json.js';

export interface BaseChainSpec {
  readonly type: 'filter' | 'nat';
  readonly hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  readonly prio: number;
}

export interface SetSpec {
  readonly type: string | readonly string[];
  /** Data type for maps ("verdict"). */
  readonly map?: string;
  readonly flags?: readonly string[];
  /** Default element timeout, seconds. */
  readonly timeout?: number;
}

/**
 * Collects the commands of one transaction for one table. Tables, chains and sets take no
 * comment: nft 1.0.6 ignores those in JSON, and both appliers must leave the same state.
 */
export class Transaction {
  private readonly commands: NftJsonCommand[] = [];

  constructor(
    readonly family: NftFamilyName,
    readonly table: string,
  ) {}

  get length(): number {
    return this.commands.length;
  }

  addTable(): void {
    this.commands.push({ add: { table: { family: this.family, name: this.table } } });
  }

  addChain(name: string, base?: BaseChainSpec): void {
    const chain: NftJsonChain = { family: this.family, table: this.table, name };
    if (base) Object.assign(chain, { type: base.type, hook: base.hook, prio: base.prio });
    this.commands.push({ add: { chain } });
  }

  flushChain(name: string): void {
    this.commands.push({ flush: { chain: { family: this.family, table: this.table, name } } });
  }

  deleteChain(name: string): void {
    this.commands.push({ delete: { chain: { family: this.family, table: this.table, name } } });
  }

  addRule(chain: string, expr: readonly NftJsonStatement[], comment?: string): void {
    this.commands.push({
      add: { rule: { family: this.family, table: this.table, chain, expr: [...expr], ...(comment ? { comment } : {}) } },
    });
  }

  addSet(name: string, spec: SetSpec): void {
    const set: NftJsonSet = {
      family: this.family,
      table: this.table,
      name,
      type: typeof spec.type === 'string' ? spec.type : [...spec.type],
    };
    if (spec.map) set.map = spec.map;
    if (spec.flags) set.flags = [...spec.flags];
    if (spec.timeout !== undefined) set.timeout = spec.timeout;
    this.commands.push(spec.map ? { add: { map: set } } : { add: { set } });
  }

  flushSet(name: string, isMap: boolean): void {
    const ref = { family: this.family, table: this.table, name } as NftJsonSet;
    this.commands.push({ flush: isMap ? { map: ref } : { set: ref } });
  }

  deleteSet(name: string, isMap = false): void {
    const ref = { family: this.family, table: this.table, name } as NftJsonSet;
    this.commands.push({ delete: isMap ? { map: ref } : { set: ref } });
  }

  /** One command for many elements: nft and the kernel handle a list far faster than one each. */
  addElements(set: string, elem: readonly NftJsonExpr[]): void {
    if (elem.length === 0) return;
    this.commands.push({ add: { element: { family: this.family, table: this.table, name: set, elem: [...elem] } } });
  }

  deleteElements(set: string, keys: readonly NftJsonExpr[]): void {
    if (keys.length === 0) return;
    this.commands.push({ delete: { element: { family: this.family, table: this.table, name: set, elem: [...keys] } } });
  }

  document(): NftJsonDocument {
    return { nftables: this.commands };
  }
}

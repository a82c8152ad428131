/**
 * An in-memory nf_tables table that applies this mode's JSON transactions with the kernel's
 * rules (what knftables.Fake is to upstream): all or nothing, ENOENT for missing objects, EEXIST
 * for conflicting re-adds, EBUSY for deleting what is still referenced. Unit tests use it to
 * check that partial syncs leave exactly what a full sync would; dump() renders the result in
 * upstream's test format.
 */
import type { NftJsonChain, NftJsonDocument, NftJsonExpr, NftJsonSet, NftJsonStatement } from '../../kernel/nftables-json.js';
import type { IPFamily } from '../../model/ip.js';
import { NftablesApplyError, type NftablesApplier, type TableListing } from './applier.js';
import { TABLE_NAME } from './layout.js';
import { renderChainDefinition, renderElement, renderExpr, renderRule, renderSetDefinition } from './render.js';

interface FakeRule {
  readonly expr: readonly NftJsonStatement[];
  readonly comment: string | undefined;
}

interface FakeChain {
  readonly def: NftJsonChain;
  rules: FakeRule[];
}

interface FakeSet {
  readonly def: NftJsonSet;
  readonly kind: 'set' | 'map';
  /** nft marks a set "dynamic" when a rule updates it from the packet path. */
  dynamic: boolean;
  /** key text → element as JSON (value, or [key, verdict]). */
  elements: Map<string, NftJsonExpr>;
}

interface TableState {
  comment: string | undefined;
  chains: Map<string, FakeChain>;
  sets: Map<string, FakeSet>;
}

export class FakeNftError extends Error {
  constructor(
    readonly code: 'ENOENT' | 'EEXIST' | 'EBUSY' | 'EINVAL',
    message: string,
    readonly commandIndex: number,
  ) {
    super(`${code}: ${message} (command #${commandIndex})`);
    this.name = 'FakeNftError';
  }
}

function clone(t: TableState): TableState {
  return {
    comment: t.comment,
    chains: new Map([...t.chains].map(([k, c]) => [k, { def: c.def, rules: [...c.rules] }])),
    sets: new Map([...t.sets].map(([k, s]) => [k, { ...s, elements: new Map(s.elements) }])),
  };
}

function isPair(e: NftJsonExpr): e is [NftJsonExpr, NftJsonExpr] {
  return Array.isArray(e) && e.length === 2;
}

/** The key of an element as text, without comment or verdict. */
function keyText(elem: NftJsonExpr): string {
  const key = isPair(elem) ? elem[0] : elem;
  const bare = typeof key === 'object' && key !== null && !Array.isArray(key) && key.elem ? key.elem.val : key;
  return renderExpr(bare);
}

/** Chains a statement or expression refers to by jump/goto. */
function chainTargets(e: unknown, out: string[]): void {
  if (typeof e !== 'object' || e === null) return;
  if (Array.isArray(e)) {
    for (const x of e) chainTargets(x, out);
    return;
  }
  const o = e as Record<string, unknown>;
  for (const verdict of ['jump', 'goto'] as const) {
    const v = o[verdict] as { target?: unknown } | undefined;
    if (v && typeof v.target === 'string') out.push(v.target);
  }
  for (const [k, v] of Object.entries(o)) if (k !== 'jump' && k !== 'goto') chainTargets(v, out);
}

/** Named sets ("@name") a statement refers to. */
function setReferences(e: unknown, out: string[]): void {
  if (typeof e === 'string') {
    if (e.startsWith('@')) out.push(e.slice(1));
    return;
  }
  if (typeof e !== 'object' || e === null) return;
  for (const v of Array.isArray(e) ? e : Object.values(e)) setReferences(v, out);
}

export class FakeNftables {
  private tables = new Map<string, TableState>();
  /** Documents applied successfully, for tests that look at what was sent. */
  readonly applied: NftJsonDocument[] = [];

  /** Applies a document atomically; throws FakeNftError and changes nothing on failure. */
  apply(doc: NftJsonDocument): void {
    const work = new Map([...this.tables].map(([k, t]) => [k, clone(t)]));
    // Chains whose last reference went away in this transaction: deleting them now fails on
    // kernels before 6.2, which is why the proxier waits a second before deleting stale chains.
    const unreferencedNow = new Set<string>();
    doc.nftables.forEach((cmd, i) => this.command(work, cmd, i, unreferencedNow));
    this.tables = work;
    this.applied.push(doc);
  }

  hasTable(family: string, table: string): boolean {
    return this.tables.has(`${family} ${table}`);
  }

  chainNames(family: string, table: string): string[] {
    return [...(this.tables.get(`${family} ${table}`)?.chains.keys() ?? [])];
  }

  setNames(family: string, table: string): string[] {
    return [...(this.tables.get(`${family} ${table}`)?.sets.keys() ?? [])];
  }

  setTimeout(family: string, table: string, set: string): number | undefined {
    return this.tables.get(`${family} ${table}`)?.sets.get(set)?.def.timeout;
  }

  rules(family: string, table: string, chain: string): string[] {
    const c = this.tables.get(`${family} ${table}`)?.chains.get(chain);
    return c ? c.rules.map((r) => renderRule(chain, family, table, r.expr, r.comment)) : [];
  }

  elements(family: string, table: string, set: string): string[] {
    const s = this.tables.get(`${family} ${table}`)?.sets.get(set);
    return s ? [...s.elements.values()].map((e) => renderExpr(e)) : [];
  }

  /** The table as upstream's tests print it: definitions, rules, then elements, sorted. */
  dump(family: string, table: string): string {
    const t = this.tables.get(`${family} ${table}`);
    if (!t) return '';
    const lines = [`add table ${family} ${table}${t.comment ? ` { comment "${t.comment}" ; }` : ''}`];
    const sets = [...t.sets.values()].sort((a, b) => (a.def.name < b.def.name ? -1 : 1));
    for (const s of sets) {
      const flags = s.dynamic ? ['dynamic', ...(s.def.flags ?? []).filter((f) => f !== 'dynamic')] : s.def.flags;
      lines.push(renderSetDefinition(s.def, s.kind, flags));
    }
    const chains = [...t.chains.values()].sort((a, b) => (a.def.name < b.def.name ? -1 : 1));
    for (const c of chains) lines.push(renderChainDefinition(c.def));
    for (const c of chains) for (const r of c.rules) lines.push(renderRule(c.def.name, family, table, r.expr, r.comment));
    for (const s of sets) {
      const elems = [...s.elements.values()].map((e) => renderElement(family, table, s.def.name, e)).sort();
      lines.push(...elems);
    }
    return lines.join('\n') + '\n';
  }

  private command(work: Map<string, TableState>, cmd: NftJsonDocument['nftables'][number], i: number, unreferencedNow: Set<string>): void {
    const fail = (code: FakeNftError['code'], msg: string): never => {
      throw new FakeNftError(code, msg, i);
    };
    const verbs = (['add', 'create', 'flush', 'delete'] as const).filter((v) => cmd[v] !== undefined);
    if (verbs.length !== 1) fail('EINVAL', `command has ${verbs.length} verbs`);
    const verb = verbs[0]!;
    const o = cmd[verb]!;
    const tableOf = (family: string, name: string): TableState =>
      work.get(`${family} ${name}`) ?? fail('ENOENT', `table ${family} ${name}`);

    if (o.table) {
      const key = `${o.table.family} ${o.table.name}`;
      if (verb === 'add' || verb === 'create') {
        if (work.has(key)) {
          if (verb === 'create') fail('EEXIST', `table ${key}`);
          return;
        }
        work.set(key, { comment: o.table.comment, chains: new Map(), sets: new Map() });
      } else if (verb === 'delete') {
        if (!work.delete(key)) fail('ENOENT', `table ${key}`);
      } else {
        const t = tableOf(o.table.family, o.table.name);
        for (const c of t.chains.values()) c.rules = [];
        for (const s of t.sets.values()) s.elements.clear();
      }
      return;
    }

    if (o.chain) {
      const c = o.chain;
      const t = tableOf(c.family, c.table);
      const existing = t.chains.get(c.name);
      if (verb === 'add' || verb === 'create') {
        if (existing) {
          if (verb === 'create') fail('EEXIST', `chain ${c.name}`);
          const same = c.type === undefined || (existing.def.type === c.type && existing.def.hook === c.hook && existing.def.prio === c.prio);
          if (!same) fail('EEXIST', `chain ${c.name} exists with another type, hook or priority`);
          return;
        }
        t.chains.set(c.name, { def: { ...c }, rules: [] });
      } else if (verb === 'flush') {
        if (!existing) fail('ENOENT', `chain ${c.name}`);
        for (const target of this.targetsOf(existing!.rules)) unreferencedNow.add(target);
        existing!.rules = [];
      } else {
        if (!existing) fail('ENOENT', `chain ${c.name}`);
        if (this.isChainReferenced(t, c.name)) fail('EBUSY', `chain ${c.name} is still referenced`);
        if (unreferencedNow.has(c.name)) fail('EBUSY', `chain ${c.name} lost its last reference in this transaction`);
        t.chains.delete(c.name);
      }
      return;
    }

    if (o.rule) {
      const r = o.rule;
      if (verb !== 'add') fail('EINVAL', `${verb} rule is not used by this mode`);
      const t = tableOf(r.family, r.table);
      const chain = t.chains.get(r.chain) ?? fail('ENOENT', `chain ${r.chain}`);
      const expr = r.expr ?? [];
      const targets: string[] = [];
      chainTargets(expr, targets);
      for (const target of targets) if (!t.chains.has(target)) fail('ENOENT', `rule in ${r.chain} jumps to missing chain ${target}`);
      const sets: string[] = [];
      setReferences(expr, sets);
      for (const s of sets) if (!t.sets.has(s)) fail('ENOENT', `rule in ${r.chain} uses missing set ${s}`);
      for (const st of expr) if (st.set?.op === 'update') t.sets.get(st.set.set.slice(1))!.dynamic = true;
      chain.rules.push({ expr, comment: r.comment });
      return;
    }

    const setDef = o.set ?? o.map;
    if (setDef) {
      const t = tableOf(setDef.family, setDef.table);
      const existing = t.sets.get(setDef.name);
      if (verb === 'add' || verb === 'create') {
        if (existing) {
          if (verb === 'create') fail('EEXIST', `set ${setDef.name}`);
          const same =
            JSON.stringify([existing.def.type, existing.def.map, existing.def.flags ?? [], existing.def.timeout]) ===
            JSON.stringify([setDef.type, setDef.map, setDef.flags ?? [], setDef.timeout]);
          if (!same) fail('EEXIST', `set ${setDef.name} exists with other properties`);
          return;
        }
        const { elem, ...def } = setDef;
        const created: FakeSet = { def, kind: o.map ? 'map' : 'set', dynamic: false, elements: new Map() };
        t.sets.set(setDef.name, created);
        for (const e of elem ?? []) created.elements.set(keyText(e), e);
      } else if (verb === 'flush') {
        if (!existing) fail('ENOENT', `set ${setDef.name}`);
        for (const e of existing!.elements.values()) this.noteElementTargets(e, unreferencedNow);
        existing!.elements.clear();
      } else {
        if (!existing) fail('ENOENT', `set ${setDef.name}`);
        const users = [...t.chains.values()].filter((c) => {
          const refs: string[] = [];
          setReferences(c.rules.map((r) => r.expr), refs);
          return refs.includes(setDef.name);
        });
        if (users.length > 0) fail('EBUSY', `set ${setDef.name} is used by chain ${users[0]!.def.name}`);
        t.sets.delete(setDef.name);
      }
      return;
    }

    if (o.element) {
      const e = o.element;
      const t = tableOf(e.family, e.table);
      const set = t.sets.get(e.name) ?? fail('ENOENT', `set ${e.name}`);
      for (const elem of e.elem) {
        const key = keyText(elem);
        if (verb === 'delete') {
          const old = set.elements.get(key) ?? fail('ENOENT', `element ${key} in ${e.name}`);
          this.noteElementTargets(old, unreferencedNow);
          set.elements.delete(key);
          continue;
        }
        if (set.kind === 'map' && !isPair(elem)) fail('EINVAL', `map element ${key} has no value`);
        const targets: string[] = [];
        chainTargets(isPair(elem) ? elem[1] : [], targets);
        for (const target of targets) if (!t.chains.has(target)) fail('ENOENT', `element ${key} points to missing chain ${target}`);
        const old = set.elements.get(key);
        if (old !== undefined) {
          const oldValue = isPair(old) ? JSON.stringify(old[1]) : '';
          const newValue = isPair(elem) ? JSON.stringify(elem[1]) : '';
          if (oldValue !== newValue || verb === 'create') fail('EEXIST', `element ${key} in ${e.name}`);
          continue;
        }
        set.elements.set(key, elem);
      }
      return;
    }
    fail('EINVAL', `unsupported command ${JSON.stringify(cmd).slice(0, 80)}`);
  }

  private targetsOf(rules: readonly FakeRule[]): string[] {
    const out: string[] = [];
    chainTargets(rules.map((r) => r.expr), out);
    return out;
  }

  private noteElementTargets(elem: NftJsonExpr, into: Set<string>): void {
    if (!isPair(elem)) return;
    const out: string[] = [];
    chainTargets(elem[1], out);
    for (const t of out) into.add(t);
  }

  private isChainReferenced(t: TableState, chain: string): boolean {
    for (const c of t.chains.values()) if (this.targetsOf(c.rules).includes(chain)) return true;
    for (const s of t.sets.values()) {
      for (const e of s.elements.values()) {
        if (!isPair(e)) continue;
        const out: string[] = [];
        chainTargets(e[1], out);
        if (out.includes(chain)) return true;
      }
    }
    return false;
  }
}

/** An applier over a FakeNftables, for unit tests of the proxier. `failNext` makes the next apply fail. */
export function fakeApplier(fake: FakeNftables): NftablesApplier & { failNext: number } {
  const applier = {
    name: 'nft' as const,
    failNext: 0,
    async apply(doc: NftJsonDocument): Promise<void> {
      if (doc.nftables.length === 0) return;
      if (applier.failNext > 0) {
        applier.failNext--;
        throw new NftablesApplyError('nft', 'injected failure', doc.nftables.length);
      }
      try {
        fake.apply(doc);
      } catch (err) {
        throw new NftablesApplyError('nft', String(err), doc.nftables.length);
      }
    },
    async listTable(family: IPFamily): Promise<TableListing | undefined> {
      const fam = family === 'IPv4' ? 'ip' : 'ip6';
      if (!fake.hasTable(fam, TABLE_NAME)) return undefined;
      return {
        chains: fake.chainNames(fam, TABLE_NAME),
        sets: fake.setNames(fam, TABLE_NAME).map((name) => {
          const timeout = fake.setTimeout(fam, TABLE_NAME, name);
          return timeout === undefined ? { name } : { name, timeout };
        }),
      };
    },
    async deleteTable(family: IPFamily): Promise<boolean> {
      const fam = family === 'IPv4' ? 'ip' : 'ip6';
      if (!fake.hasTable(fam, TABLE_NAME)) return false;
      fake.apply({ nftables: [{ delete: { table: { family: fam, name: TABLE_NAME } } }] });
      return true;
    },
  };
  return applier;
}

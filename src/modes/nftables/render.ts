/**
 * nft text for the JSON this mode writes, in the one-line "add ..." style knftables and
 * upstream's tests use. Used for --dry-run, the readable golden files and the comparison with
 * upstream's expected rule set; the kernel only ever receives the JSON.
 */
import type { NftJsonChain, NftJsonCommand, NftJsonExpr, NftJsonExprObject, NftJsonSet, NftJsonStatement } from '../../kernel/nftables-json.js';

const UNQUALIFIED_META = new Set(['mark', 'iif', 'iifname', 'oif', 'oifname']);

function isObject(e: NftJsonExpr): e is NftJsonExprObject {
  return typeof e === 'object' && e !== null && !Array.isArray(e);
}

function quote(text: string): string {
  return `"${text.replaceAll('"', '\\"')}"`;
}

/** Renders an expression; `hex` prints numbers as hexadecimal (marks). */
export function renderExpr(e: NftJsonExpr, hex = false): string {
  if (typeof e === 'number') return hex ? `0x${e.toString(16)}` : String(e);
  if (typeof e === 'string') return e;
  if (typeof e === 'boolean') return String(e);
  if (Array.isArray(e)) return e.map((x) => renderExpr(x, hex)).join(' : ');
  if (e.payload) return `${e.payload.protocol} ${e.payload.field}`;
  if (e.meta) return UNQUALIFIED_META.has(e.meta.key) ? e.meta.key : `meta ${e.meta.key}`;
  if (e.ct) return `ct ${e.ct.key}`;
  if (e.fib) return `fib ${[e.fib.flags ?? []].flat().join(' . ')} ${e.fib.result}`;
  if (e.numgen) return `numgen ${e.numgen.mode} mod ${e.numgen.mod}${e.numgen.offset ? ` offset ${e.numgen.offset}` : ''}`;
  if (e.concat) return e.concat.map((x) => renderExpr(x)).join(' . ');
  if (e.prefix) return `${e.prefix.addr}/${e.prefix.len}`;
  if (e.range) return `${renderExpr(e.range[0])}-${renderExpr(e.range[1])}`;
  if (e.elem) return `${renderExpr(e.elem.val)}${e.elem.comment !== undefined ? ` comment ${quote(e.elem.comment)}` : ''}`;
  if (e.set) return `{ ${e.set.map((x) => renderExpr(x)).join(' , ')} }`;
  if (e['&']) return `${renderExpr(e['&'][0])} and ${renderExpr(e['&'][1], true)}`;
  if (e['|']) return `${renderExpr(e['|'][0])} or ${renderExpr(e['|'][1], true)}`;
  if (e['^']) return `${renderExpr(e['^'][0])} xor ${renderExpr(e['^'][1], true)}`;
  if ('accept' in e) return 'accept';
  if ('drop' in e) return 'drop';
  if ('return' in e) return 'return';
  if ('continue' in e) return 'continue';
  if (e.jump) return `jump ${e.jump.target}`;
  if (e.goto) return `goto ${e.goto.target}`;
  return JSON.stringify(e);
}

function isBitwise(e: NftJsonExpr): boolean {
  return isObject(e) && (e['&'] !== undefined || e['|'] !== undefined || e['^'] !== undefined);
}

function renderRight(left: NftJsonExpr, right: NftJsonExpr): string {
  if (isObject(left) && left.meta && (left.meta.key === 'iifname' || left.meta.key === 'oifname') && typeof right === 'string') return quote(right);
  return renderExpr(right);
}

export function renderStatement(s: NftJsonStatement): string {
  if (s.match) {
    const { op, left, right } = s.match;
    // nft omits "==" (and "in") except after a bitwise expression, where it is needed to parse.
    const shownOp = op === '==' || op === 'in' ? (isBitwise(left) ? '== ' : '') : `${op} `;
    return `${renderExpr(left)} ${shownOp}${renderRight(left, right)}`;
  }
  if ('counter' in s) return 'counter';
  if ('accept' in s) return 'accept';
  if ('drop' in s) return 'drop';
  if ('return' in s) return 'return';
  if ('continue' in s) return 'continue';
  if (s.jump) return `jump ${s.jump.target}`;
  if (s.goto) return `goto ${s.goto.target}`;
  if (s.mangle) return `${renderExpr(s.mangle.key)} set ${renderExpr(s.mangle.value)}`;
  if ('masquerade' in s) {
    const flags = [s.masquerade?.flags ?? []].flat();
    return flags.length ? `masquerade ${flags.join(',')}` : 'masquerade';
  }
  if (s.dnat || s.snat) {
    const nat = (s.dnat ?? s.snat)!;
    const addr = nat.addr === undefined ? '' : nat.addr.includes(':') && nat.port !== undefined ? `[${nat.addr}]` : nat.addr;
    return `${s.dnat ? 'dnat' : 'snat'} to ${addr}${nat.port !== undefined ? `:${nat.port}` : ''}`;
  }
  if ('reject' in s) return 'reject';
  if (s.vmap) return `${renderExpr(s.vmap.key)} vmap ${renderExpr(s.vmap.data)}`;
  if (s.set) return `${s.set.op} ${s.set.set} { ${renderExpr(s.set.elem)} }`;
  return JSON.stringify(s);
}

export function renderRule(chain: string, family: string, table: string, expr: readonly NftJsonStatement[], comment?: string): string {
  const body = expr.map(renderStatement).join(' ');
  return `add rule ${family} ${table} ${chain} ${body}${comment !== undefined ? ` comment ${quote(comment)}` : ''}`;
}

export function renderChainDefinition(c: NftJsonChain): string {
  const props: string[] = [];
  if (c.type !== undefined) props.push(`type ${c.type} hook ${c.hook} priority ${c.prio} ;`);
  if (c.comment !== undefined) props.push(`comment ${quote(c.comment)} ;`);
  return `add chain ${c.family} ${c.table} ${c.name}${props.length ? ` { ${props.join(' ')} }` : ''}`;
}

export function renderSetDefinition(s: NftJsonSet, kind: 'set' | 'map', flags = s.flags): string {
  const type = [s.type].flat().join(' . ');
  const props = [`type ${type}${s.map !== undefined ? ` : ${s.map}` : ''} ;`];
  if (flags && flags.length) props.push(`flags ${flags.join(',')} ;`);
  if (s.timeout !== undefined) props.push(`timeout ${s.timeout}s ;`);
  if (s.comment !== undefined) props.push(`comment ${quote(s.comment)} ;`);
  return `add ${kind} ${s.family} ${s.table} ${s.name} { ${props.join(' ')} }`;
}

export function renderElement(family: string, table: string, set: string, elem: NftJsonExpr): string {
  return `add element ${family} ${table} ${set} { ${renderExpr(elem)} }`;
}

/** One command of a transaction as an nft text command (for --dry-run and debugging). */
export function renderCommand(cmd: NftJsonCommand): string[] {
  for (const verb of ['add', 'flush', 'delete', 'create'] as const) {
    const o = cmd[verb];
    if (!o) continue;
    if (o.table) {
      const c = o.table.comment !== undefined && verb === 'add' ? ` { comment ${quote(o.table.comment)} ; }` : '';
      return [`${verb} table ${o.table.family} ${o.table.name}${c}`];
    }
    if (o.chain) return [verb === 'add' ? renderChainDefinition(o.chain) : `${verb} chain ${o.chain.family} ${o.chain.table} ${o.chain.name}`];
    if (o.rule) return [renderRule(o.rule.chain, o.rule.family, o.rule.table, o.rule.expr ?? [], o.rule.comment)];
    const set = o.set ?? o.map;
    if (set) {
      const kind = o.map ? 'map' : 'set';
      return [verb === 'add' ? renderSetDefinition(set, kind) : `${verb} ${kind} ${set.family} ${set.table} ${set.name}`];
    }
    if (o.element) {
      const e = o.element;
      return e.elem.map((x) => `${verb} element ${e.family} ${e.table} ${e.name} { ${renderExpr(x)} }`);
    }
  }
  return [`# ${JSON.stringify(cmd)}`];
}

/** A transaction document as JSON with one command per line: valid `nft -j -f` input that diffs well. */
export function formatDocument(doc: { readonly nftables: readonly NftJsonCommand[] }): string {
  if (doc.nftables.length === 0) return '{"nftables": []}\n';
  return `{"nftables": [\n${doc.nftables.map((c) => `  ${JSON.stringify(c)}`).join(',\n')}\n]}\n`;
}

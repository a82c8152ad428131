// Renders the nft JSON subset of src/kernel/nftables-json.ts as `nft -f` text, so that the
// benchmark can feed the same ruleset to the text parser. Throws on anything it does not know.
import type {
  NftJsonCommand,
  NftJsonDocument,
  NftJsonExpr,
  NftJsonExprObject,
  NftJsonStatement,
} from '../src/kernel/netlink.js';

const quote = (s: string) => JSON.stringify(s);

function isObject(e: NftJsonExpr): e is NftJsonExprObject {
  return typeof e === 'object' && e !== null && !Array.isArray(e);
}

function address(v: string): string {
  return v;
}

export function renderExpr(e: NftJsonExpr): string {
  if (typeof e === 'string') return e.startsWith('@') ? e : /^[\w.:/-]+$/.test(e) ? e : quote(e);
  if (typeof e === 'number') return String(e);
  if (typeof e === 'boolean') return e ? 'true' : 'false';
  if (Array.isArray(e)) return e.map(renderExpr).join(',');
  if (e.payload) return `${e.payload.protocol} ${e.payload.field}`;
  if (e.meta) return `meta ${e.meta.key}`;
  if (e.ct) return `ct ${e.ct.dir ? `${e.ct.dir} ` : ''}${e.ct.key}`;
  if (e.fib) return `fib ${(Array.isArray(e.fib.flags) ? e.fib.flags : [e.fib.flags ?? '']).join(' . ')} ${e.fib.result}`;
  if (e.numgen) return `numgen ${e.numgen.mode} mod ${e.numgen.mod}${e.numgen.offset ? ` offset ${e.numgen.offset}` : ''}`;
  if (e.concat) return e.concat.map(renderExpr).join(' . ');
  if (e.prefix) return `${address(e.prefix.addr)}/${e.prefix.len}`;
  if (e.range) return `${renderExpr(e.range[0])}-${renderExpr(e.range[1])}`;
  if (e.set) return `{ ${e.set.map(renderElement).join(', ')} }`;
  if (e.elem) {
    const parts = [renderExpr(e.elem.val)];
    if (e.elem.timeout !== undefined) parts.push(`timeout ${e.elem.timeout}s`);
    if (e.elem.comment !== undefined) parts.push(`comment ${quote(e.elem.comment)}`);
    return parts.join(' ');
  }
  for (const op of ['&', '|', '^'] as const) {
    const operands = e[op];
    if (operands) return `${renderExpr(operands[0])} ${op} ${renderExpr(operands[1])}`;
  }
  const verdict = renderVerdict(e);
  if (verdict) return verdict;
  throw new Error(`cannot render expression ${JSON.stringify(e)}`);
}

function renderVerdict(e: NftJsonExprObject): string | undefined {
  if ('accept' in e) return 'accept';
  if ('drop' in e) return 'drop';
  if ('return' in e) return 'return';
  if ('continue' in e) return 'continue';
  if (e.jump) return `jump ${e.jump.target}`;
  if (e.goto) return `goto ${e.goto.target}`;
  return undefined;
}

/** Set elements, and map elements given as [key, value]. */
function renderElement(e: NftJsonExpr): string {
  if (Array.isArray(e) && e.length === 2) return `${renderExpr(e[0] as NftJsonExpr)} : ${renderExpr(e[1] as NftJsonExpr)}`;
  return renderExpr(e);
}

export function renderStatement(s: NftJsonStatement): string {
  if (s.match) {
    const { op, left, right } = s.match;
    const l = renderExpr(left);
    const r = renderExpr(right);
    return op === 'in' ? `${l} ${r}` : `${l} ${op} ${r}`;
  }
  if ('counter' in s) return 'counter';
  if (s.mangle) return `${renderExpr(s.mangle.key)} set ${renderExpr(s.mangle.value)}`;
  if ('masquerade' in s) {
    const flags = s.masquerade?.flags;
    return `masquerade${flags ? ' ' + (Array.isArray(flags) ? flags.join(',') : flags) : ''}`;
  }
  for (const kind of ['snat', 'dnat'] as const) {
    const nat = s[kind];
    if (!nat) continue;
    const addr = nat.addr?.includes(':') && nat.port !== undefined ? `[${nat.addr}]` : (nat.addr ?? '');
    return `${kind}${nat.family ? ` ${nat.family}` : ''} to ${addr}${nat.port !== undefined ? `:${nat.port}` : ''}`;
  }
  if ('reject' in s) {
    const r = s.reject;
    if (!r?.type) return 'reject';
    return r.type === 'tcp reset' ? 'reject with tcp reset' : `reject with ${r.type} ${r.expr ?? 'port-unreachable'}`;
  }
  if (s.vmap) return `${renderExpr(s.vmap.key)} vmap ${renderExpr(s.vmap.data)}`;
  if (s.set) return `${s.set.op} ${s.set.set} { ${renderExpr(s.set.elem)} }`;
  const verdict = renderVerdict(s as unknown as NftJsonExprObject);
  if (verdict) return verdict;
  throw new Error(`cannot render statement ${JSON.stringify(s)}`);
}

function renderCommand(cmd: NftJsonCommand): string {
  const add = cmd.add;
  if (!add) throw new Error(`only "add" commands are rendered, got ${JSON.stringify(Object.keys(cmd))}`);
  if (add.table) {
    const tb = add.table;
    return `add table ${tb.family} ${tb.name}${tb.comment ? ` { comment ${quote(tb.comment)}; }` : ''}`;
  }
  if (add.chain) {
    const c = add.chain;
    const body: string[] = [];
    if (c.type) body.push(`type ${c.type} hook ${c.hook} priority ${c.prio};`);
    if (c.policy) body.push(`policy ${c.policy};`);
    if (c.comment) body.push(`comment ${quote(c.comment)};`);
    return `add chain ${c.family} ${c.table} ${c.name}${body.length ? ` { ${body.join(' ')} }` : ''}`;
  }
  if (add.rule) {
    const r = add.rule;
    const stmts = (r.expr ?? []).map(renderStatement).join(' ');
    return `add rule ${r.family} ${r.table} ${r.chain} ${stmts}${r.comment ? ` comment ${quote(r.comment)}` : ''}`;
  }
  const set = add.set ?? add.map;
  if (set) {
    const type = (Array.isArray(set.type) ? set.type : [set.type]).join(' . ') + (set.map ? ` : ${set.map}` : '');
    const body = [`type ${type};`];
    if (set.flags?.length) body.push(`flags ${set.flags.join(',')};`);
    if (set.timeout !== undefined) body.push(`timeout ${set.timeout}s;`);
    if (set.comment) body.push(`comment ${quote(set.comment)};`);
    if (set.elem?.length) body.push(`elements = { ${set.elem.map(renderElement).join(', ')} };`);
    return `add ${add.map ? 'map' : 'set'} ${set.family} ${set.table} ${set.name} { ${body.join(' ')} }`;
  }
  if (add.element) {
    const e = add.element;
    return `add element ${e.family} ${e.table} ${e.name} { ${e.elem.map(renderElement).join(', ')} }`;
  }
  throw new Error(`cannot render ${JSON.stringify(Object.keys(add))}`);
}

export function renderNftText(doc: NftJsonDocument): string {
  return doc.nftables.map(renderCommand).join('\n') + '\n';
}

import { splitRuleLine } from '../kernel/argv.js';
import { canonicalIP } from '../model/ip.js';

/**
 * One canonical text per rule meaning, so a rule as the generator writes it and the same rule as
 * iptables-save prints it compare equal. iptables-save reorders matches (`-d` before `-m tcp`),
 * adds defaults (`/32`, `--reject-with icmp-port-unreachable`, recent's `--mask … --rsource`),
 * rewrites MARK's `--or-mark` as `--set-xmark` and prints probabilities with 11 decimals from
 * the kernel's 31-bit fixed point. Match order inside a rule does not change what it matches, so
 * the canonical form sorts it; rule order inside a chain is a separate question (see compare).
 */

const BASIC_FLAGS: Record<string, string> = {
  '-s': '-s', '--source': '-s', '--src': '-s',
  '-d': '-d', '--destination': '-d', '--dst': '-d',
  '-p': '-p', '--protocol': '-p',
  '-i': '-i', '--in-interface': '-i',
  '-o': '-o', '--out-interface': '-o',
};

interface Extension {
  readonly name: string;
  /** Option groups: `['!', '--ctstate', 'NEW']`. */
  readonly options: string[][];
}

function normalizeAddress(value: string): string {
  const [addr, len] = value.split('/', 2) as [string, string | undefined];
  const ip = canonicalIP(addr) ?? addr;
  return `${ip}/${len ?? (ip.includes(':') ? '128' : '32')}`;
}

function normalizeHex(value: string): string {
  return value
    .split('/')
    .map((part) => (/^0x[0-9a-f]+$/i.test(part) ? `0x${parseInt(part, 16).toString(16)}` : part))
    .join('/');
}

/** The kernel keeps the probability as round(p * 2^31); compare what it keeps, not how it is printed. */
function normalizeProbability(value: string): string {
  const p = Number(value);
  return Number.isFinite(p) ? String(Math.round(p * 0x80000000)) : value;
}

const HOST_MASKS = new Set(['255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']);

function normalizeOptions(ext: Extension, isTarget: boolean): string[][] {
  let groups = ext.options.map((g) => g.map((t) => (t.startsWith('0x') || t.includes('/0x') ? normalizeHex(t) : t)));
  if (!isTarget && ext.name === 'statistic') {
    groups = groups.map((g) => (g.at(-2) === '--probability' ? [...g.slice(0, -1), normalizeProbability(g.at(-1)!)] : g));
  }
  if (!isTarget && ext.name === 'recent') {
    groups = groups.filter((g) => !(g[0] === '--rsource') && !(g[0] === '--mask' && HOST_MASKS.has(g[1] ?? '')));
  }
  if (!isTarget && ext.name === 'conntrack') {
    groups = groups.map((g) => (g.includes('--ctstate') ? [...g.slice(0, -1), g.at(-1)!.split(',').sort().join(',')] : g));
  }
  if (isTarget && ext.name === 'MARK') {
    groups = groups.map((g) => {
      const [opt, value = ''] = g;
      if (opt === '--or-mark') return ['--set-xmark', `${value}/${value}`];
      if (opt === '--xor-mark') return ['--set-xmark', `${value}/0x0`];
      if (opt === '--set-mark' && !value.includes('/')) return ['--set-xmark', `${value}/0xffffffff`];
      return g;
    });
  }
  if (isTarget && ext.name === 'REJECT') {
    groups = groups.filter((g) => !(g[0] === '--reject-with' && /^icmp6?-port-unreachable$/.test(g[1] ?? '')));
  }
  return groups;
}

function render(ext: Extension, isTarget: boolean): string {
  const opts = normalizeOptions(ext, isTarget)
    .map((g) => g.map((t) => (/\s/.test(t) || t === '' ? JSON.stringify(t) : t)).join(' '))
    .sort();
  return [ext.name, ...opts].join(' ');
}

/** The canonical text of a rule's arguments (everything after `-A CHAIN`). */
export function canonicalRuleArgs(args: readonly string[]): string {
  const basic = new Map<string, string>();
  const matches: Extension[] = [];
  let target: Extension | undefined;
  let goto: string | undefined;
  let current: Extension | undefined;
  let negate = false;
  for (let i = 0; i < args.length; i++) {
    const tok = args[i]!;
    if (tok === '!') {
      negate = true;
      continue;
    }
    const basicFlag = BASIC_FLAGS[tok];
    if (basicFlag) {
      let value = args[++i] ?? '';
      if (basicFlag === '-s' || basicFlag === '-d') value = normalizeAddress(value);
      if (basicFlag === '-p') value = value.toLowerCase();
      basic.set(basicFlag, `${negate ? '! ' : ''}${basicFlag} ${value}`);
      negate = false;
      continue;
    }
    if (tok === '-m' || tok === '--match') {
      current = { name: args[++i] ?? '', options: [] };
      matches.push(current);
      continue;
    }
    if (tok === '-j' || tok === '--jump') {
      current = target = { name: args[++i] ?? '', options: [] };
      continue;
    }
    if (tok === '-g' || tok === '--goto') {
      goto = args[++i];
      continue;
    }
    if (tok.startsWith('--') && current) {
      const group = negate ? ['!', tok] : [tok];
      negate = false;
      while (i + 1 < args.length && !args[i + 1]!.startsWith('-') && args[i + 1] !== '!') group.push(args[++i]!);
      current.options.push(group);
      continue;
    }
    // Anything else is kept verbatim so that two unknown shapes never compare equal by accident.
    basic.set(`?${i}`, tok);
  }
  const parts = [...[...basic.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v)];
  parts.push(...matches.map((m) => `-m ${render(m, false)}`).sort());
  if (goto) parts.push(`-g ${goto}`);
  if (target) parts.push(`-j ${render(target, true)}`);
  return parts.join(' ');
}

export interface ParsedRule {
  readonly chain: string;
  /** The line as written, for reports. */
  readonly text: string;
  readonly canonical: string;
  readonly args: readonly string[];
}

/** Parses `-A CHAIN args…` (optionally with iptables-save -c's `[p:b]` prefix). */
export function parseRuleLine(line: string): ParsedRule | undefined {
  let tokens = splitRuleLine(line.trim());
  if (tokens[0]?.startsWith('[')) tokens = tokens.slice(1);
  if (tokens[0] !== '-A' || tokens.length < 2) return undefined;
  const args = tokens.slice(2);
  return { chain: tokens[1]!, text: line.trim().replace(/^\[\d+:\d+\]\s*/, ''), canonical: canonicalRuleArgs(args), args };
}

/** The value of an option in a rule's arguments (`--comment`, `--to-destination`), if present. */
export function optionValue(args: readonly string[], option: string): string | undefined {
  const i = args.indexOf(option);
  return i >= 0 ? args[i + 1] : undefined;
}

export interface TableDump {
  /** Declared chains (`:NAME POLICY [p:b]`). */
  readonly chains: Set<string>;
  /** Rules per chain, in order. */
  readonly rules: Map<string, ParsedRule[]>;
}

/**
 * Splits iptables-save output, or iptables-restore input, into tables. `-X CHAIN` lines (a
 * restore deleting a stale chain) remove the chain, so a generator's output parses into the
 * state it would leave behind.
 */
export function parseIptablesDump(text: string): Map<string, TableDump> {
  const tables = new Map<string, TableDump>();
  let table: TableDump | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      const name = line.slice(1).trim();
      table = tables.get(name) ?? { chains: new Set(), rules: new Map() };
      tables.set(name, table);
      continue;
    }
    if (!table || line === 'COMMIT') continue;
    if (line.startsWith(':')) {
      table.chains.add(line.slice(1).split(/\s+/, 1)[0]!);
      continue;
    }
    if (line.startsWith('-X ')) {
      const chain = line.slice(3).trim();
      table.chains.delete(chain);
      table.rules.delete(chain);
      continue;
    }
    const rule = parseRuleLine(line);
    if (!rule) continue;
    let list = table.rules.get(rule.chain);
    if (!list) table.rules.set(rule.chain, (list = []));
    list.push(rule);
  }
  return tables;
}

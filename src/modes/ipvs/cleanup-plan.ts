import { splitRuleLine } from '../../kernel/argv.js';
import type { IptablesTable } from '../../kernel/iptables.js';
import { IPVS_JUMP_RULES } from './jumps.js';
import {
  FILTER_CHAINS,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  NAT_CHAINS,
} from './naming.js';

/** Chains iptables mode declares too; switching to iptables mode leaves them (flushed) for it. */
export const SHARED_WITH_IPTABLES: Readonly<Record<'nat' | 'filter', ReadonlySet<string>>> = {
  nat: new Set([KUBE_SERVICES, KUBE_POSTROUTING, KUBE_MARK_MASQ]),
  filter: new Set([KUBE_FORWARD, KUBE_PROXY_FIREWALL]),
};

export interface IpvsTableCleanup {
  /** `-D` argument lists (with `-t table`) for our jump rules in built-in chains. */
  readonly jumps: readonly string[][];
  /** iptables-restore input flushing our chains and deleting those nothing else references. */
  readonly restore: string;
  /** Chains of IPVS mode only (not shared with iptables mode) found: proof that IPVS mode ran here. */
  readonly ipvsOnlyChains: readonly string[];
}

interface SavedRule {
  readonly chain: string;
  readonly args: readonly string[];
}

function tableRules(save: string, table: IptablesTable): { chains: string[]; rules: SavedRule[] } {
  const chains: string[] = [];
  const rules: SavedRule[] = [];
  let inTable = false;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) {
      inTable = line.slice(1).trim() === table;
      continue;
    }
    if (!inTable) continue;
    if (line.startsWith(':')) chains.push(line.slice(1).split(' ', 1)[0]!);
    else if (line.startsWith('-A ')) {
      const args = splitRuleLine(line);
      rules.push({ chain: args[1]!, args: args.slice(2) });
    }
  }
  return { chains, rules };
}

const targetOf = (args: readonly string[]): string | undefined => {
  const i = args.findIndex((a) => a === '-j' || a === '-g');
  return i >= 0 ? args[i + 1] : undefined;
};

/**
 * Plans the removal of IPVS mode's iptables objects from one table of an iptables-save dump:
 * its jump rules, then its chains, flushed, and deleted unless something left in place (another
 * mode's chains) still jumps to them; that mode's cleanup deletes those. With `keepShared` the
 * chains iptables mode also uses are only flushed, for iptables mode to fill.
 */
export function planIpvsTableCleanup(save: string, table: 'nat' | 'filter', keepShared: boolean): IpvsTableCleanup {
  const ours = table === 'nat' ? NAT_CHAINS : FILTER_CHAINS;
  const { chains, rules } = tableRules(save, table);
  const present = ours.filter((c) => chains.includes(c));
  const ipvsOnlyChains = present.filter((c) => !SHARED_WITH_IPTABLES[table].has(c));

  const jumps: string[][] = [];
  const deletedJumps = new Set<SavedRule>();
  for (const j of IPVS_JUMP_RULES) {
    if (j.table !== table) continue;
    for (const r of rules) {
      if (r.chain === j.from && r.args.length === j.args.length && r.args.every((a, i) => a === j.args[i])) {
        jumps.push(['-t', table, '-D', j.from, ...j.args]);
        deletedJumps.add(r);
      }
    }
  }
  if (present.length === 0) return { jumps, restore: '', ipvsOnlyChains };

  const flushed = new Set(present);
  const referenced = new Set<string>();
  for (const r of rules) {
    if (flushed.has(r.chain) || deletedJumps.has(r)) continue;
    const target = targetOf(r.args);
    if (target) referenced.add(target);
  }
  const deletable = present.filter((c) => !referenced.has(c) && !(keepShared && SHARED_WITH_IPTABLES[table].has(c)));
  const lines = [`*${table}`, ...present.map((c) => `:${c} - [0:0]`), ...deletable.map((c) => `-X ${c}`), 'COMMIT', ''];
  return { jumps, restore: lines.join('\n'), ipvsOnlyChains };
}

import { Iptables, type IptablesBackend, type IptablesTable } from '../../kernel/iptables.js';
import { splitRuleLine } from '../../kernel/argv.js';
import type { KernelTarget } from '../../kernel/exec.js';
import type { IPFamily } from '../../model/ip.js';
import {
  isServiceChainName,
  KUBE_EXTERNAL_SERVICES,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_CANARY,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
} from './naming.js';

/**
 * The chains iptables mode owns per table. KUBE-FIREWALL is left alone, as upstream does: the
 * kubelet creates it too. IPVS mode's own chains are removed by its cleanup.
 */
const OWNED: Record<'filter' | 'nat' | 'mangle', ReadonlySet<string>> = {
  filter: new Set([KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_NODEPORTS, KUBE_FORWARD, KUBE_PROXY_FIREWALL, KUBE_PROXY_CANARY]),
  nat: new Set([KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ, KUBE_PROXY_CANARY]),
  mangle: new Set([KUBE_PROXY_CANARY]),
};

/** Chains IPVS mode declares too: switching to IPVS leaves them for IPVS mode to rewrite. */
const SHARED_WITH_IPVS: Record<'filter' | 'nat' | 'mangle', ReadonlySet<string>> = {
  filter: new Set([KUBE_FORWARD, KUBE_PROXY_FIREWALL]),
  nat: new Set([KUBE_SERVICES, KUBE_POSTROUTING, KUBE_MARK_MASQ]),
  mangle: new Set(),
};

const BUILTIN = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING']);

export interface TableCleanupPlan {
  /** Rules in built-in chains that jump to our chains, as `-D` argument lists. */
  readonly jumps: readonly string[][];
  /** iptables-restore input that flushes and deletes our chains; '' when there are none. */
  readonly restore: string;
}

/** Plans the removal of iptables mode's chains from one table of an iptables-save dump. */
export function planTableCleanup(save: string, table: IptablesTable, owned: ReadonlySet<string>, ownsServiceChains: boolean): TableCleanupPlan {
  const chains: string[] = [];
  const jumps: string[][] = [];
  let inTable = false;
  const ours = (c: string): boolean => owned.has(c) || (ownsServiceChains && isServiceChainName(c));
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) {
      inTable = line.slice(1).trim() === table;
      continue;
    }
    if (!inTable) continue;
    if (line.startsWith(':')) {
      const c = line.slice(1).split(' ', 1)[0]!;
      if (ours(c)) chains.push(c);
    } else if (line.startsWith('-A ')) {
      const args = splitRuleLine(line);
      const from = args[1]!;
      const j = args.indexOf('-j');
      const target = j >= 0 ? args[j + 1] : undefined;
      if (BUILTIN.has(from) && target && ours(target)) jumps.push(['-t', table, '-D', ...args.slice(1)]);
    }
  }
  if (chains.length === 0) return { jumps, restore: '' };
  const lines = [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''];
  return { jumps, restore: lines.join('\n') };
}

/**
 * Removes everything iptables mode created in one family: first the jumps from built-in chains
 * (a referenced chain cannot be deleted), then every chain, flushed and deleted, one restore per
 * table. Returns the number of chains removed.
 */
export async function cleanupIptables(
  family: IPFamily,
  target: KernelTarget = {},
  backend: IptablesBackend = 'default',
  opts: { keepSharedWithIpvs?: boolean } = {},
): Promise<number> {
  const ipt = new Iptables(family, target, backend);
  let removed = 0;
  let save: string;
  try {
    save = await ipt.save();
  } catch {
    return 0; // No iptables for this family: nothing of ours can exist.
  }
  for (const table of ['filter', 'nat', 'mangle'] as const) {
    const owned = opts.keepSharedWithIpvs ? new Set([...OWNED[table]].filter((c) => !SHARED_WITH_IPVS[table].has(c))) : OWNED[table];
    const plan = planTableCleanup(save, table, owned, table === 'nat');
    for (const args of plan.jumps) await ipt.command(args);
    if (plan.restore) {
      await ipt.restore(plan.restore, { counters: false });
      removed += plan.restore.split('\n').filter((l) => l.startsWith('-X ')).length;
    }
  }
  return removed;
}

import { run } from '../../kernel/exec.js';
import { Iptables, type IptablesBackend } from '../../kernel/iptables.js';
import { deleteLink, flushIpvs, getLink, probeIpvs } from '../../kernel/netlink.js';
import { IP_FAMILIES, type IPFamily } from '../../model/ip.js';
import type { ProxyMode } from '../../sync/proxier.js';
import { planIpvsTableCleanup } from './cleanup-plan.js';
import { ownedSetNames } from './ipset-specs.js';
import { KUBE_IPVS_DEVICE } from './naming.js';

export interface IpvsCleanupSummary {
  readonly ipvsFlushed: boolean;
  readonly dummyDeleted: boolean;
  readonly chainsFlushed: number;
  readonly chainsDeleted: number;
  readonly setsDestroyed: number;
  readonly errors: readonly string[];
}

/**
 * Removes what IPVS mode made (upstream's cleanupLeftovers): every IPVS virtual server, the
 * kube-ipvs0 link, the jump rules and chains in both families, then the ipsets (after iptables:
 * a set a rule references cannot be destroyed). `switchingTo` set means another mode is starting:
 * nothing is touched unless IPVS mode evidently ran here, and for iptables mode the chains it
 * shares with IPVS mode are flushed but kept.
 */
export async function cleanupIpvs(families: readonly IPFamily[], backend: IptablesBackend = 'default', switchingTo?: ProxyMode): Promise<IpvsCleanupSummary> {
  const errors: string[] = [];
  let chainsFlushed = 0;
  let chainsDeleted = 0;
  let evidence = switchingTo === undefined;

  const dummy = await getLink(KUBE_IPVS_DEVICE).catch(() => undefined);
  if (dummy) evidence = true;

  for (const family of families) {
    const ipt = new Iptables(family, {}, backend);
    let save: string;
    try {
      save = await ipt.save();
    } catch {
      continue; // No iptables for this family: nothing of ours can exist.
    }
    const plans = (['nat', 'filter'] as const).map((table) => planIpvsTableCleanup(save, table, switchingTo === 'iptables'));
    if (plans.some((p) => p.ipvsOnlyChains.length > 0)) evidence = true;
    if (!evidence) continue;
    for (const plan of plans) {
      for (const args of plan.jumps) await ipt.command(args);
      if (!plan.restore) continue;
      try {
        await ipt.restore(plan.restore, { counters: false });
        chainsFlushed += plan.restore.split('\n').filter((l) => l.startsWith(':')).length;
        chainsDeleted += plan.restore.split('\n').filter((l) => l.startsWith('-X ')).length;
      } catch (err) {
        errors.push(`${family} chains: ${String(err)}`);
      }
    }
  }

  let ipvsFlushed = false;
  let dummyDeleted = false;
  if (evidence) {
    const probe = await probeIpvs().catch(() => ({ available: false }));
    if (probe.available) {
      try {
        await flushIpvs();
        ipvsFlushed = true;
      } catch (err) {
        errors.push(`IPVS flush: ${String(err)}`);
      }
    }
    if (dummy) {
      try {
        await deleteLink(KUBE_IPVS_DEVICE);
        dummyDeleted = true;
      } catch (err) {
        if ((err as { code?: string }).code !== 'ENODEV') errors.push(`delete ${KUBE_IPVS_DEVICE}: ${String(err)}`);
      }
    }
  }
  const setsDestroyed = evidence ? await destroyIpsets(errors) : 0;
  return { ipvsFlushed, dummyDeleted, chainsFlushed, chainsDeleted, setsDestroyed, errors };
}

/** Destroys every IPVS set of both families that exists; a set still referenced stays and is reported. */
async function destroyIpsets(errors: string[]): Promise<number> {
  let listed;
  try {
    listed = await run(['ipset', 'list', '-n']);
  } catch {
    return 0; // No ipset binary: no sets of ours either.
  }
  if (listed.code !== 0) return 0;
  const existing = new Set(listed.stdout.split('\n').map((l) => l.trim()));
  const ours = IP_FAMILIES.flatMap((f) => ownedSetNames(f)).filter((name) => existing.has(name));
  let destroyed = 0;
  for (const name of ours) {
    const r = await run(['ipset', 'destroy', name]);
    if (r.code === 0) destroyed++;
    else errors.push(`ipset destroy ${name}: ${r.stderr.trim()}`);
  }
  return destroyed;
}

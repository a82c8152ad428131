/** Collecting labs whose owner died without cleaning up (SIGKILL, OOM, a power cut of the VM…). */
import { deleteNetns, killPids, listNetns, netnsInode, pidsInNetns, waitForPidsGone } from './namespaces.js';
import { isOwnerAlive, parseNetnsName } from './owner.js';

export interface GcResult {
  /** Namespaces removed. */
  namespaces: string[];
  /** Processes killed because they still lived in those namespaces. */
  killed: number[];
}

/**
 * Removes every lab namespace (kplab-<pid>-<start>-…) whose owner process is gone, after killing
 * what still runs inside it. Namespaces of live owners, and any namespace not named like a lab's,
 * are never touched.
 */
export async function gcStaleLabs(options: { timeoutMs?: number } = {}): Promise<GcResult> {
  const stale = listNetns().filter((name) => {
    const parsed = parseNetnsName(name);
    return parsed !== undefined && !isOwnerAlive(parsed);
  });
  if (stale.length === 0) return { namespaces: [], killed: [] };
  const inodes = stale.map(netnsInode).filter((i): i is string => i !== undefined);
  const killed = pidsInNetns(inodes);
  killPids(killed);
  await waitForPidsGone(killed, options.timeoutMs ?? 10_000);
  await deleteNetns(stale, options.timeoutMs);
  return { namespaces: stale, killed };
}

/** Named network namespaces (/run/netns) and the processes living in them. */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { ipBatch, ipBatchSync } from './ip-batch.js';
import { NETNS_DIR } from './owner.js';

export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/** The namespace's inode number, as /proc/<pid>/ns/net shows it ("net:[<inode>]"). */
export function netnsInode(name: string): string | undefined {
  try {
    return String(statSync(`${NETNS_DIR}/${name}`, { bigint: true }).ino);
  } catch {
    return undefined;
  }
}

export async function createNetns(names: string[], timeoutMs?: number): Promise<void> {
  await ipBatch(
    names.map((n) => `netns add ${n}`),
    timeoutMs === undefined ? {} : { timeoutMs },
  );
}

/** Deletes what exists of these namespaces; names already gone are fine. */
export async function deleteNetns(names: string[], timeoutMs?: number): Promise<void> {
  const present = names.filter((n) => netnsInode(n) !== undefined);
  await ipBatch(
    present.map((n) => `netns delete ${n}`),
    { force: true, ...(timeoutMs === undefined ? {} : { timeoutMs }) },
  );
}

export function deleteNetnsSync(names: string[]): void {
  const present = names.filter((n) => netnsInode(n) !== undefined);
  ipBatchSync(
    present.map((n) => `netns delete ${n}`),
    { force: true },
  );
}

function isZombieOrGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/**
 * Every live process whose network namespace is one of these inodes: what `ip netns pids` does,
 * for many namespaces in one pass over /proc and without a process spawn.
 */
export function pidsInNetns(inodes: Iterable<string>): number[] {
  const wanted = new Set([...inodes].map((i) => `net:[${i}]`));
  if (wanted.size === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      if (wanted.has(readlinkSync(`/proc/${entry}/ns/net`)) && !isZombieOrGone(pid)) pids.push(pid);
    } catch {
      // Exited while we looked, or a kernel thread without namespaces.
    }
  }
  return pids;
}

export function killPids(pids: Iterable<number>, signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Resolves with the pids still alive when the deadline passed (empty when all are gone). */
export async function waitForPidsGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter((p) => !isZombieOrGone(p));
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    alive = alive.filter((p) => !isZombieOrGone(p));
  }
  return alive;
}

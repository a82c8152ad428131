import { open, readFile, rename, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive } from './process-alive.js';

/**
 * A lock between processes: a file created exclusively that holds the owner's pid, taken over when
 * that process is gone. Used for the VM slot and for cache builds; the latter do not rely on it
 * for integrity (they write into a private folder and rename it into place), only to avoid
 * downloading twice.
 */
export async function withFileLock<T>(
  lockPath: string,
  work: () => Promise<T>,
  options: { waitMs?: number; onWait?: (holder: string) => void; signal?: AbortSignal } = {},
): Promise<T> {
  const deadline = Date.now() + (options.waitMs ?? 15 * 60_000);
  let announced = false;
  for (;;) {
    const acquired = await tryCreate(lockPath);
    if (acquired) break;
    const holder = await readHolder(lockPath);
    if (holder !== undefined && !isProcessAlive(holder)) {
      // The holder died without cleaning up (SIGKILL, power loss): take its lock away. Renaming to
      // a private name first means only one waiter wins if several notice at the same moment.
      await rename(lockPath, `${lockPath}.stale-${process.pid}`).then(
        () => unlink(`${lockPath}.stale-${process.pid}`),
        () => undefined,
      );
      continue;
    }
    options.signal?.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockPath} (held by pid ${holder ?? '?'})`);
    if (!announced) {
      options.onWait?.(String(holder ?? '?'));
      announced = true;
    }
    await sleep(250);
  }
  try {
    return await work();
  } finally {
    if ((await readHolder(lockPath)) === process.pid) await unlink(lockPath).catch(() => undefined);
  }
}

async function tryCreate(lockPath: string): Promise<boolean> {
  try {
    const handle = await open(lockPath, 'wx');
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function readHolder(lockPath: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(lockPath, 'utf8'), 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

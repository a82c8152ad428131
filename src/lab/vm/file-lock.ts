import { open, readFile, rename, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive } from './process-alive.js';

/**
 * Serialises cache builds between processes (two `npm test` runs, or tap running several files).
 * It only saves duplicate downloads: every build also writes into a private temporary folder and
 * renames it into place, so the cache stays whole even if a lock is ever broken wrongly.
 */
export async function withFileLock<T>(
  lockPath: string,
  work: () => Promise<T>,
  options: { waitMs?: number; onWait?: (holder: string) => void } = {},
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

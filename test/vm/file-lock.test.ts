import { spawnSync } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { withFileLock } from '../../src/lab/vm/file-lock.js';

const dir = await mkdtemp(join(tmpdir(), 'kpt-vm-lock-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

t.test('holders take turns and the lock file goes away after', async (t) => {
  const lock = join(dir, 'turns.lock');
  const events: string[] = [];
  const holder = (name: string) => async (): Promise<void> => {
    events.push(`${name} in`);
    await sleep(300);
    events.push(`${name} out`);
  };
  await Promise.all([withFileLock(lock, holder('a')), sleep(50).then(() => withFileLock(lock, holder('b')))]);
  t.same(events, ['a in', 'a out', 'b in', 'b out']);
  t.notOk(await exists(lock));
});

t.test("a dead holder's lock is taken over", async (t) => {
  const lock = join(dir, 'stale.lock');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  await writeFile(lock, `${dead}\n`);
  t.equal(await withFileLock(lock, async () => 'ran', { waitMs: 2000 }), 'ran');
});

t.test('a live holder makes others wait, up to their limit', async (t) => {
  const lock = join(dir, 'live.lock');
  await writeFile(lock, `${process.ppid}\n`);
  const waits: string[] = [];
  await t.rejects(
    withFileLock(lock, async () => 'never', { waitMs: 600, onWait: (pid) => waits.push(pid) }),
    /timed out waiting/,
  );
  t.same(waits, [String(process.ppid)], 'the wait is announced once, with the holder');
  const aborted = AbortSignal.abort();
  await t.rejects(withFileLock(lock, async () => 'never', { signal: aborted }), { name: 'AbortError' });
});

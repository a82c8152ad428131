// The VM lab's pure pieces: the initramfs archive, the guest init, qemu's command line, and the
// mapping from guest test sources to their compiled twins. The VM itself is ipvs-vm.test.ts.
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { buildCpioNewc } from '../../src/lab/vm/cpio-newc.js';
import { cacheTag, hostRootTag, ioTag, modprobeForwarder, renderGuestInit } from '../../src/lab/vm/guest-init.js';
import { compiledTestFiles } from '../../src/lab/vm/guest-suite.js';
import { qemuArgs } from '../../src/lab/vm/qemu-args.js';

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kpt-vm-pieces-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const hasCpio = spawnSync('cpio', ['--version']).status === 0;

t.test('the cpio archive unpacks with cpio(1) to the same tree', { skip: hasCpio ? false : 'cpio(1) is not installed' }, async (t) => {
  const archive = buildCpioNewc([
    { kind: 'directory', path: 'bin' },
    { kind: 'file', path: 'init', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
    { kind: 'file', path: 'bin/odd-length', data: Buffer.from('abcde') },
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
  ]);
  t.equal(archive.length % 4, 0, 'entries are padded to four bytes');
  const dir = await scratch(t);
  const unpacked = spawnSync('cpio', ['-idm', '--quiet'], { cwd: dir, input: archive });
  t.equal(unpacked.status, 0, `cpio unpacks it ${unpacked.stderr}`);
  t.equal(await readFile(join(dir, 'init'), 'utf8'), '#!/bin/sh\necho hi\n');
  t.equal((await lstat(join(dir, 'init'))).mode & 0o777, 0o755, 'mode kept');
  t.equal(await readFile(join(dir, 'bin/odd-length'), 'utf8'), 'abcde');
  t.equal(await readlink(join(dir, 'bin/sh')), 'busybox');
  t.same(buildCpioNewc([{ kind: 'directory', path: 'x' }]), buildCpioNewc([{ kind: 'directory', path: 'x' }]), 'byte-for-byte repeatable');
});

t.test('the guest init is filled in completely and refuses values it cannot quote', async (t) => {
  const init = renderGuestInit({ kernelVersion: '6.1.0-57-amd64', moduleTree: '/var/cache/vm/kernels/6.1.0-57-amd64/lib/modules/6.1.0-57-amd64' });
  t.match(init, /^#!\/bin\/busybox sh\n/);
  t.notMatch(init, /@[A-Z_]+@/, 'no placeholder left');
  t.match(init, new RegExp(`"${hostRootTag}" /lower`));
  t.match(init, new RegExp(`"${ioTag}" /io`));
  t.match(init, new RegExp(`"${cacheTag}"`));
  t.match(init, /mount --bind "\/var\/cache\/vm\/kernels\/6\.1\.0-57-amd64\/lib\/modules\/6\.1\.0-57-amd64" "\/lib\/modules\/6\.1\.0-57-amd64"/);
  t.match(init, /nameserver 127\.0\.0\.1/);
  t.throws(() => renderGuestInit({ kernelVersion: '6.1', moduleTree: '/tmp/$(reboot)' }), /cannot quote/);
  t.match(modprobeForwarder, /exec \/bin\/chroot \/newroot \/sbin\/modprobe "\$@"/);
});

t.test('qemu runs TCG with no network card and three 9p shares', async (t) => {
  const args = qemuArgs({ kernel: '/k', initramfs: '/i', ioDir: '/tmp/io', cacheDir: '/c', memoryMiB: 2048, cpus: 2 });
  const after = (flag: string): string[] => args.flatMap((arg, i) => (arg === flag ? [args[i + 1] ?? ''] : []));
  t.same(after('-accel'), ['tcg']);
  t.same(after('-m'), ['2048']);
  t.notOk(args.includes('-enable-kvm'));
  t.ok(args.includes('-nodefaults'), 'no default NIC or display');
  t.same(
    after('-fsdev').map((spec) => spec.split(',').slice(0, 3).join(',')),
    [`local,id=${hostRootTag},path=/`, `local,id=${ioTag},path=/tmp/io`, `local,id=${cacheTag},path=/c`],
  );
  t.match(after('-fsdev')[0], /readonly=on/, 'the host root is read-only');
  t.notMatch(after('-fsdev')[1], /readonly/, 'the I/O share is writable');
});

t.test('guest test sources map to fresh compiled twins in dist/', async (t) => {
  const root = await scratch(t);
  await mkdir(join(root, 'test/vm/guest/sub'), { recursive: true });
  await mkdir(join(root, 'dist/test/vm/guest/sub'), { recursive: true });
  for (const name of ['a.test.ts', 'sub/b.test.ts']) {
    await writeFile(join(root, 'test/vm/guest', name), '');
    await writeFile(join(root, 'dist/test/vm/guest', name.replace(/\.ts$/, '.js')), '');
  }
  await writeFile(join(root, 'test/vm/guest/types.d.ts'), '');
  // A compiled file whose source was deleted must not run.
  await writeFile(join(root, 'dist/test/vm/guest/gone.test.js'), '');

  t.same(await compiledTestFiles(root, ['test/vm/guest']), ['dist/test/vm/guest/a.test.js', 'dist/test/vm/guest/sub/b.test.js']);
  t.same(await compiledTestFiles(root, ['test/vm/guest/sub/b.test.ts']), ['dist/test/vm/guest/sub/b.test.js']);

  const past = new Date(Date.now() - 60_000);
  await utimes(join(root, 'dist/test/vm/guest/a.test.js'), past, past);
  await t.rejects(compiledTestFiles(root, ['test/vm/guest']), /older than test\/vm\/guest\/a\.test\.ts; run npm run build/);
  await t.rejects(compiledTestFiles(root, ['test/vm/nowhere']), /no such guest test/);
});

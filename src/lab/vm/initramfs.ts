import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCpioNewc, type CpioEntry } from './cpio-newc.js';
import type { DebianKernel } from './debian-kernel.js';
import { VmUnavailableError } from './errors.js';
import { bootModules, labModules } from './guest-modules.js';
import { modprobeForwarder, renderGuestInit } from './guest-init.js';
import { parseModuleIndex, planModuleLoad, type LoadPlan } from './module-order.js';
import { pathExists } from './path-exists.js';
import { findProgram } from './run-command.js';

export interface Initramfs {
  readonly path: string;
  /** What the init loads, and what of the requested list this kernel has built in or lacks. */
  readonly plan: LoadPlan;
}

/**
 * Returns the initramfs for this kernel, building it when its inputs (init text, busybox, module
 * files) changed. The file name is a hash of those inputs, so concurrent builders write the same
 * bytes and the rename into place is harmless.
 */
export async function ensureInitramfs(options: {
  cacheDir: string;
  kernel: DebianKernel;
  log?: (line: string) => void;
}): Promise<Initramfs> {
  const { kernel } = options;
  const log = options.log ?? (() => undefined);
  const busybox = await findStaticBusybox();
  const index = parseModuleIndex(
    await readFile(join(kernel.modulesDir, 'modules.dep'), 'utf8'),
    await readFile(join(kernel.modulesDir, 'modules.builtin'), 'utf8').catch(() => ''),
  );
  const plan = planModuleLoad(index, [...bootModules, ...labModules]);
  const missingForBoot = bootModules.filter((name) => plan.missing.includes(name));
  if (missingForBoot.length) throw new Error(`kernel ${kernel.version} lacks ${missingForBoot.join(', ')}, needed to boot the lab`);

  const init = renderGuestInit({ kernelVersion: kernel.version, moduleTree: kernel.modulesDir });
  const key = createHash('sha256');
  key.update(init).update(modprobeForwarder).update(busybox.bytes);
  for (const module of plan.order) {
    const info = await stat(join(kernel.modulesDir, module.path));
    key.update(`${module.name} ${module.path} ${info.size} ${info.mtimeMs}\n`);
  }
  const folder = join(options.cacheDir, 'initramfs');
  const path = join(folder, `${kernel.version}-${key.digest('hex').slice(0, 16)}.cpio`);
  if (await pathExists(path)) return { path, plan };

  log(`building the initramfs (${plan.order.length} modules${plan.missing.length ? `; not in this kernel: ${plan.missing.join(', ')}` : ''})`);
  const entries: CpioEntry[] = [
    ...['bin', 'sbin', 'dev', 'proc', 'sys', 'io', 'persist', 'lower', 'rw', 'newroot', 'modules'].map(
      (dir): CpioEntry => ({ kind: 'directory', path: dir }),
    ),
    { kind: 'file', path: 'bin/busybox', data: busybox.bytes, mode: 0o755 },
    { kind: 'file', path: 'init', data: Buffer.from(init), mode: 0o755 },
    { kind: 'file', path: 'sbin/modprobe', data: Buffer.from(modprobeForwarder), mode: 0o755 },
    { kind: 'file', path: 'modules/load-order', data: Buffer.from(plan.order.map((module) => `${module.name}\n`).join('')) },
  ];
  for (const module of plan.order) {
    if (!module.path.endsWith('.ko')) throw new Error(`${module.path} is compressed; the initramfs only takes plain .ko files`);
    entries.push({ kind: 'file', path: `modules/${module.name}.ko`, data: await readFile(join(kernel.modulesDir, module.path)) });
  }
  await mkdir(folder, { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  try {
    await writeFile(partial, buildCpioNewc(entries));
    await rename(partial, path);
  } finally {
    await unlink(partial).catch(() => undefined);
  }
  return { path, plan };
}

/** The init runs before any library is reachable, so busybox must be the static build. */
async function findStaticBusybox(): Promise<{ path: string; bytes: Buffer }> {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox', await findProgram('busybox')]) {
    if (!candidate || !(await pathExists(candidate))) continue;
    const bytes = await readFile(candidate);
    if (!hasInterpreter(bytes)) return { path: candidate, bytes };
  }
  throw new VmUnavailableError('no statically linked busybox found (Debian package busybox-static)');
}

/** True when an ELF64 executable names a dynamic loader (a PT_INTERP program header). */
function hasInterpreter(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) return true;
  const headerOffset = Number(elf.readBigUInt64LE(0x20));
  const headerSize = elf.readUInt16LE(0x36);
  const headerCount = elf.readUInt16LE(0x38);
  for (let i = 0; i < headerCount; i++) {
    const at = headerOffset + i * headerSize;
    if (at + 4 <= elf.length && elf.readUInt32LE(at) === 3) return true;
  }
  return false;
}

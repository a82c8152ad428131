import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VmUnavailableError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { pathExists } from './path-exists.js';
import { findProgram, runCommand } from './run-command.js';

/** A Debian kernel unpacked into the cache, with `depmod` run over its module tree. */
export interface DebianKernel {
  /** The kernel release, as `uname -r` prints it in the guest: `6.1.0-57-amd64`. */
  readonly version: string;
  /** The unpacked package: `boot/`, `lib/modules/<version>/`. */
  readonly root: string;
  readonly vmlinuz: string;
  readonly modulesDir: string;
}

/** The kernel could not be had at all (no apt, no route to the archive, nothing cached). */
export class KernelUnavailableError extends VmUnavailableError {
  override name = 'KernelUnavailableError';
}

const metaPackage = 'linux-image-amd64';
const completeMarker = 'complete';

/**
 * Returns Debian's current amd64 kernel, downloading and unpacking it once. KPT_VM_KERNEL pins a
 * release (`6.1.0-57-amd64`). When apt cannot answer (offline), the newest cached kernel is used.
 */
export async function ensureDebianKernel(options: {
  cacheDir: string;
  log?: (line: string) => void;
}): Promise<DebianKernel> {
  const log = options.log ?? (() => undefined);
  const kernelsDir = join(options.cacheDir, 'kernels');
  await mkdir(kernelsDir, { recursive: true });

  let version: string;
  try {
    version = process.env['KPT_VM_KERNEL'] || (await resolveKernelVersion(log));
  } catch (error) {
    const cached = await newestCachedKernel(kernelsDir);
    if (cached) {
      log(`apt could not resolve ${metaPackage} (${oneLine(error)}); using the cached ${cached.version}`);
      return cached;
    }
    throw new KernelUnavailableError(`cannot resolve ${metaPackage} with apt: ${oneLine(error)}`, error);
  }

  const cached = await cachedKernel(kernelsDir, version);
  if (cached) return cached;

  return withFileLock(
    join(kernelsDir, '.lock'),
    async () => {
      const builtMeanwhile = await cachedKernel(kernelsDir, version);
      if (builtMeanwhile) return builtMeanwhile;
      try {
        return await downloadAndUnpack(kernelsDir, version, log);
      } catch (error) {
        const fallback = await newestCachedKernel(kernelsDir);
        if (fallback) {
          log(`could not fetch linux-image-${version} (${oneLine(error)}); using the cached ${fallback.version}`);
          return fallback;
        }
        throw new KernelUnavailableError(`cannot fetch linux-image-${version}: ${oneLine(error)}`, error);
      }
    },
    { onWait: (pid) => log(`waiting for process ${pid}, which is preparing the VM kernel`) },
  );
}

/** `linux-image-amd64` is a meta package; its dependency names the concrete kernel package. */
async function resolveKernelVersion(log: (line: string) => void): Promise<string> {
  const query = async (): Promise<string | undefined> => {
    const { stdout } = await runCommand('apt-cache', ['depends', metaPackage]);
    return /Depends:\s+linux-image-(\d\S*)/.exec(stdout)?.[1];
  };
  const first = await query().catch(() => undefined);
  if (first) return first;
  // A fresh machine may have no package lists yet.
  if (process.getuid?.() !== 0) throw new Error(`apt-cache knows no ${metaPackage} and only root can run apt-get update`);
  log('apt-get update (no package lists yet)');
  await runCommand('apt-get', ['update', '-qq']);
  const second = await query();
  if (!second) throw new Error(`apt-cache depends ${metaPackage} names no linux-image-<release> package`);
  return second;
}

async function downloadAndUnpack(kernelsDir: string, version: string, log: (line: string) => void): Promise<DebianKernel> {
  const building = join(kernelsDir, `.building-${version}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(building);
  try {
    log(`downloading linux-image-${version} with apt`);
    // apt-get download writes into the current folder; apt's own sources decide where it comes from.
    await runCommand('apt-get', ['download', '-q', `linux-image-${version}`], { cwd: building });
    const deb = (await readdir(building)).find((name) => name.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download produced no .deb');
    log(`unpacking ${deb}`);
    await runCommand('dpkg-deb', ['-x', deb, 'root'], { cwd: building });
    await rm(join(building, deb));
    const root = join(building, 'root');
    await moveModulesUnderLib(root, version);
    const depmod = (await findProgram('depmod')) ?? 'depmod';
    await runCommand(depmod, ['-b', root, version]);
    await writeFile(join(root, completeMarker), `${new Date().toISOString()}\n`);

    const final = join(kernelsDir, version);
    try {
      await rename(root, final);
    } catch (error) {
      // Another process finished the same version first (its lock was taken for stale): use theirs.
      if (!(await cachedKernel(kernelsDir, version))) throw error;
    }
    const kernel = await cachedKernel(kernelsDir, version);
    if (!kernel) throw new Error(`unpacked kernel ${version} is incomplete`);
    log(`kernel ${version} cached in ${final}`);
    return kernel;
  } finally {
    await rm(building, { recursive: true, force: true });
  }
}

/** depmod -b wants `<base>/lib/modules`; later packages may ship `usr/lib/modules` instead. */
async function moveModulesUnderLib(root: string, version: string): Promise<void> {
  if (await pathExists(join(root, 'lib', 'modules', version))) return;
  const usrLib = join(root, 'usr', 'lib', 'modules', version);
  if (!(await pathExists(usrLib))) throw new Error(`the package has no modules for ${version}`);
  await mkdir(join(root, 'lib', 'modules'), { recursive: true });
  await rename(usrLib, join(root, 'lib', 'modules', version));
}

async function cachedKernel(kernelsDir: string, version: string): Promise<DebianKernel | undefined> {
  const root = join(kernelsDir, version);
  const kernel: DebianKernel = {
    version,
    root,
    vmlinuz: join(root, 'boot', `vmlinuz-${version}`),
    modulesDir: join(root, 'lib', 'modules', version),
  };
  const whole =
    (await pathExists(join(root, completeMarker))) &&
    (await pathExists(kernel.vmlinuz)) &&
    (await pathExists(join(kernel.modulesDir, 'modules.dep')));
  return whole ? kernel : undefined;
}

async function newestCachedKernel(kernelsDir: string): Promise<DebianKernel | undefined> {
  const candidates: { kernel: DebianKernel; at: number }[] = [];
  for (const name of await readdir(kernelsDir).catch(() => [] as string[])) {
    if (name.startsWith('.')) continue;
    const kernel = await cachedKernel(kernelsDir, name);
    if (kernel) candidates.push({ kernel, at: (await stat(join(kernel.root, completeMarker))).mtimeMs });
  }
  candidates.sort((a, b) => b.at - a.at);
  return candidates[0]?.kernel;
}

/** An error as one line, for skip reasons and log lines. */
function oneLine(error: unknown): string {
  const text = String(error instanceof Error ? error.message : error);
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  const joined = lines.join(' | ');
  return joined.length > 400 ? `${joined.slice(0, 400)}…` : joined;
}

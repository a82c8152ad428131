import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vmCacheDir } from './cache-dir.js';
import { ensureDebianKernel, type DebianKernel } from './debian-kernel.js';
import { VmRunError, VmUnavailableError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { FileFollower } from './file-follower.js';
import { commandStartMarker, consolePrefix, guestCompileCacheDir, guestIoDir } from './guest-init.js';
import { ioFiles, type GuestExit, type GuestJob } from './guest-launcher.js';
import { ensureInitramfs, type Initramfs } from './initramfs.js';
import { pathExists } from './path-exists.js';
import { isProcessAlive } from './process-alive.js';
import { qemuArgs } from './qemu-args.js';
import { findProgram } from './run-command.js';
import { reapOnExit } from './vm-reaper.js';

export type OutputStream = 'stdout' | 'stderr';

export interface VmRunOptions {
  /** The command to run in the guest, as an argument array; looked up on the guest's PATH. */
  argv: readonly string[];
  /** Working folder in the guest; the host's root is visible at the same paths. Default: process.cwd(). */
  cwd?: string;
  /**
   * Added to the guest's small default environment (PATH with this node first, HOME, LANG,
   * KPT_VM=1, NODE_COMPILE_CACHE). The host's own environment is not passed on.
   */
  env?: Readonly<Record<string, string>>;
  /** The whole run from the start of qemu, boot included (waiting for another VM is not). Default 10 minutes. */
  timeoutMs?: number;
  /** Default 2048. */
  memoryMiB?: number;
  /** Default 2. */
  cpus?: number;
  /** Each piece of the command's output as it arrives. */
  onOutput?: (text: string, stream: OutputStream) => void;
  /** Serial console text (kernel messages, the init's stage lines), for debugging the VM itself. */
  onConsole?: (text: string) => void;
  /** Progress of the host-side preparation (kernel download, initramfs build). Default: stderr. */
  log?: (line: string) => void;
  /** Stops the VM early; the result then says `timedOut: false, exitCode: null`. */
  signal?: AbortSignal;
}

export interface VmRunResult {
  /** The command's exit code; null when it was killed by a signal, timed out or was aborted. */
  exitCode: number | null;
  /** The signal that ended the command inside the guest, if any. */
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in the order the host saw them. */
  output: string;
  /** From starting qemu to the init handing over to the command. */
  bootMs: number;
  /** From starting qemu to qemu's exit. */
  durationMs: number;
  kernelVersion: string;
}

export interface PreparedVm {
  qemu: string;
  /** Shared writable with every guest: caches worth keeping between runs. */
  sharedCacheDir: string;
  /** Held while a VM runs, so that VMs started from different processes take turns. */
  slotLock: string;
  kernel: DebianKernel;
  initramfs: Initramfs;
}

const defaultTimeoutMs = 10 * 60_000;
/** Temporary I/O folders are named after the owning process, so orphans can be recognised. */
const tempPrefix = 'kpt-vm-';

/**
 * Everything a run needs that can be cached: qemu's path, the Debian kernel, the initramfs.
 * Throws VmUnavailableError when this machine cannot run the VM at all.
 */
export async function prepareVm(options: { log?: (line: string) => void } = {}): Promise<PreparedVm> {
  const log = options.log ?? defaultLog;
  const qemu = await findProgram('qemu-system-x86_64');
  if (!qemu) throw new VmUnavailableError('qemu-system-x86_64 is not installed (Debian package qemu-system-x86)');
  const cacheDir = await vmCacheDir();
  const kernel = await ensureDebianKernel({ cacheDir, log });
  const initramfs = await ensureInitramfs({ cacheDir, kernel, log });
  const sharedCacheDir = join(cacheDir, 'guest-cache');
  await mkdir(sharedCacheDir, { recursive: true });
  await limitCompileCache(sharedCacheDir, log);
  return { qemu, sharedCacheDir, slotLock: join(cacheDir, 'vm-slot.lock'), kernel, initramfs };
}

/**
 * The guest only ever adds to node's compile cache (entries of older node releases and deleted
 * files stay); start over once it has grown well past what one checkout needs.
 */
async function limitCompileCache(sharedCacheDir: string, log: (line: string) => void): Promise<void> {
  const tar = join(sharedCacheDir, 'node-compile-cache.tar');
  const size = (await stat(tar).catch(() => undefined))?.size ?? 0;
  if (size > 64 * 1024 * 1024) {
    log(`node's compile cache for the guest has grown to ${Math.round(size / 1024 / 1024)} MiB; starting it afresh`);
    await rm(tar, { force: true });
  }
}

/** Boots the Debian kernel under qemu, runs one command in it and powers it off again. */
export async function runInVm(options: VmRunOptions, prepared?: PreparedVm): Promise<VmRunResult> {
  const log = options.log ?? defaultLog;
  const vm = prepared ?? (await prepareVm({ log }));
  const runOne = async (): Promise<VmRunResult> => {
    await removeOrphanedTempDirs();
    const tempDir = await mkdtemp(join(tmpdir(), `${tempPrefix}${process.pid}-`));
    try {
      await writeJob(tempDir, options);
      return await boot(vm, tempDir, options);
    } finally {
      await rm(tempDir, { recursive: true, force: true });
    }
  };
  if (process.env['KPT_VM_PARALLEL'] === '1') return runOne();
  // Two emulated VMs on a small machine each run at half speed and both risk their timeouts;
  // one after the other, each gets the whole machine.
  return withFileLock(vm.slotLock, runOne, {
    waitMs: 60 * 60_000,
    signal: options.signal,
    onWait: (pid) => log(`waiting for the VM of process ${pid} to finish (one VM at a time; KPT_VM_PARALLEL=1 skips the wait)`),
  });
}

async function writeJob(ioDir: string, options: VmRunOptions): Promise<void> {
  const nodeDir = dirname(process.execPath);
  const job: GuestJob = {
    argv: [...options.argv],
    cwd: options.cwd ?? process.cwd(),
    env: {
      PATH: `${nodeDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: '/root',
      LANG: 'C.UTF-8',
      KPT_VM: '1',
      // Compiling JavaScript is slow under emulation; see guestCompileCacheDir.
      NODE_COMPILE_CACHE: guestCompileCacheDir,
      ...options.env,
    },
  };
  if (job.argv.length === 0) throw new Error('runInVm needs a command');
  // The guest's init reads this one argument per line; none of ours may contain a newline.
  const launch = [process.execPath, await launcherPath(), guestIoDir];
  if (launch.some((arg) => arg.includes('\n'))) throw new Error(`a path contains a newline: ${launch.join(' ')}`);
  await writeFile(join(ioDir, ioFiles.job), JSON.stringify(job));
  await writeFile(join(ioDir, ioFiles.launch), `${launch.join('\n')}\n`);
}

/** The compiled launcher next to this module, or its TypeScript source when running from sources. */
async function launcherPath(): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const name of ['guest-launcher.js', 'guest-launcher.ts']) {
    const candidate = join(here, name);
    if (await pathExists(candidate)) return candidate;
  }
  throw new Error(`guest-launcher not found next to ${here}`);
}

async function boot(vm: PreparedVm, ioDir: string, options: VmRunOptions): Promise<VmRunResult> {
  const args = qemuArgs({
    kernel: vm.kernel.vmlinuz,
    initramfs: vm.initramfs.path,
    ioDir,
    cacheDir: vm.sharedCacheDir,
    memoryMiB: options.memoryMiB ?? 2048,
    cpus: options.cpus ?? 2,
  });
  // The parent-death signal kills qemu even if this process is SIGKILLed and cannot clean up.
  const setpriv = await findProgram('setpriv');
  const [file, argv] = setpriv
    ? [setpriv, ['--pdeathsig', 'KILL', '--', vm.qemu, ...args]]
    : [vm.qemu, args];

  const startedAt = Date.now();
  let bootMs = 0;
  let timedOut = false;
  const stdout: string[] = [];
  const stderr: string[] = [];
  const output: string[] = [];
  const consoleLines = new ConsoleTail();

  const qemu = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const unregister = reapOnExit({ qemu, tempDir: ioDir });
  const followers = (['stdout', 'stderr'] as const).map(
    (stream) =>
      new FileFollower(join(ioDir, ioFiles[stream]), (text) => {
        (stream === 'stdout' ? stdout : stderr).push(text);
        output.push(text);
        options.onOutput?.(text, stream);
      }),
  );
  const onConsole = (chunk: Buffer): void => {
    const text = chunk.toString();
    options.onConsole?.(text);
    for (const line of consoleLines.add(text)) {
      if (!bootMs && line.startsWith(consolePrefix) && line.endsWith(commandStartMarker)) bootMs = Date.now() - startedAt;
    }
  };
  qemu.stdout.on('data', onConsole);
  qemu.stderr.on('data', onConsole);
  const kill = (): void => {
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs ?? defaultTimeoutMs);
  options.signal?.addEventListener('abort', kill, { once: true });
  if (options.signal?.aborted) kill();

  try {
    for (const follower of followers) follower.start();
    const exited = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
      qemu.on('error', (error) => resolve({ code: null, error }));
      qemu.on('close', (code) => resolve({ code }));
    });
    const durationMs = Date.now() - startedAt;
    for (const follower of followers) await follower.stop();
    if (exited.error) throw new VmUnavailableError(`cannot start qemu: ${exited.error.message}`, exited.error);

    const guestExit = await readJson<GuestExit>(join(ioDir, ioFiles.exit));
    const result = {
      stdout: stdout.join(''),
      stderr: stderr.join(''),
      output: output.join(''),
      bootMs,
      durationMs,
      timedOut,
      kernelVersion: vm.kernel.version,
    };
    if (guestExit) return { ...result, exitCode: guestExit.exitCode, signal: guestExit.signal };
    if (timedOut || options.signal?.aborted) return { ...result, exitCode: null, signal: null };
    const initFailure = await readFile(join(ioDir, ioFiles.initFailure), 'utf8').catch(() => '');
    throw new VmRunError(
      initFailure
        ? `the guest's init failed: ${initFailure.trim()}`
        : `the VM stopped (qemu exit ${exited.code}) without the command's exit code`,
      consoleLines.text(),
    );
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', kill);
    kill();
    unregister();
  }
}

/**
 * A SIGKILLed runner cannot clean up (its qemu dies with it through the parent-death signal, but
 * the I/O folder stays): remove folders whose owning process is gone.
 */
async function removeOrphanedTempDirs(): Promise<void> {
  const pattern = new RegExp(`^${tempPrefix}(\\d+)-`);
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const owner = Number(pattern.exec(name)?.[1]);
    if (owner && !isProcessAlive(owner)) await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Keeps the last lines of the serial console for error messages, and yields complete lines. */
class ConsoleTail {
  private readonly lines: string[] = [];
  private partial = '';

  add(text: string): string[] {
    const pieces = (this.partial + text).split(/\r?\n/);
    this.partial = pieces.pop() ?? '';
    // Firmware output carries terminal control sequences; strip them so the tail stays readable.
    const complete = pieces.map((line) => line.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, ''));
    this.lines.push(...complete);
    if (this.lines.length > 60) this.lines.splice(0, this.lines.length - 60);
    return complete;
  }

  text(): string {
    return [...this.lines, this.partial].join('\n');
  }
}

function defaultLog(line: string): void {
  process.stderr.write(`vm: ${line}\n`);
}

/**
 * Runs inside the VM (started by the guest's init through `chroot`): reads the job the host wrote
 * into the I/O share, runs it with an argument array, cwd and env, appends its stdout and stderr to
 * files the host follows live, and records how it ended.
 *
 * Self-contained on purpose (node: imports only): the guest runs this file directly, compiled or,
 * when the host itself runs from TypeScript sources, through Node's own type stripping.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/** What the host asks the guest to run. */
export interface GuestJob {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

/** How the command ended, as the guest saw it. */
export interface GuestExit {
  exitCode: number | null;
  signal: string | null;
  /** Set when the command could not be started at all. */
  error?: string;
}

/** File names inside the I/O share. */
export const ioFiles = {
  job: 'job.json',
  /** The init's argv for the launcher, one argument per line. */
  launch: 'launch',
  stdout: 'stdout',
  stderr: 'stderr',
  exit: 'exit.json',
  /** Written by the init when it cannot reach the point of running the launcher. */
  initFailure: 'init-failure',
} as const;

async function main(ioDir: string): Promise<void> {
  const job = JSON.parse(readFileSync(join(ioDir, ioFiles.job), 'utf8')) as GuestJob;
  const stdout = createWriteStream(join(ioDir, ioFiles.stdout), { flags: 'a' });
  const stderr = createWriteStream(join(ioDir, ioFiles.stderr), { flags: 'a' });
  const [file, ...args] = job.argv;
  const ended = await new Promise<GuestExit>((resolve) => {
    if (!file) {
      resolve({ exitCode: 127, signal: null, error: 'empty argv' });
      return;
    }
    const child = spawn(file, args, { cwd: job.cwd, env: job.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(stdout, { end: false });
    child.stderr.pipe(stderr, { end: false });
    child.on('error', (error) => resolve({ exitCode: 127, signal: null, error: `cannot run ${file}: ${error.message}` }));
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  if (ended.error) stderr.write(`${ended.error}\n`);
  await Promise.all([finish(stdout), finish(stderr)]);
  // Written last: its presence tells the host that the output files are complete.
  writeFileSync(join(ioDir, ioFiles.exit), JSON.stringify(ended));
}

function finish(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => stream.end(resolve));
}

if (import.meta.main) {
  const ioDir = process.argv[2];
  if (!ioDir) {
    process.stderr.write('usage: guest-launcher <io-dir>\n');
    process.exit(2);
  }
  main(ioDir).catch((error: unknown) => {
    process.stderr.write(`guest launcher failed: ${String(error)}\n`);
    process.exit(1);
  });
}

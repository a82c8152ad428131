import { spawn } from 'node:child_process';

/** Where a kernel-facing command runs: this process's network namespace or a named one. */
export interface KernelTarget {
  /** A name under /var/run/netns; undefined means the namespace this process is in. */
  readonly netns?: string | undefined;
}

export interface RunOptions extends KernelTarget {
  /** Written to the child's stdin, then stdin is closed. */
  readonly input?: string | Buffer;
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly command: readonly string[],
    readonly result: RunResult,
  ) {
    super(`${command.join(' ')} exited with ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

/** The argv that runs `argv` in the target namespace (via `ip netns exec`). */
export function targetArgv(argv: readonly string[], target: KernelTarget): string[] {
  return target.netns ? ['ip', 'netns', 'exec', target.netns, ...argv] : [...argv];
}

/**
 * Runs a command with an argument array (never a shell string) and collects its output. Resolves
 * with the exit code whatever it is; a command that cannot start at all rejects.
 */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = targetArgv(argv, opts);
  return new Promise((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) {
      timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
      timer.unref();
    }
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (signal ? `\nkilled by ${signal}` : ''),
      });
    });
    // A child that exits before reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run(), but a non-zero exit rejects with CommandError. */
export async function runChecked(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await run(argv, opts);
  if (result.code !== 0) throw new CommandError(targetArgv(argv, opts), result);
  return result;
}

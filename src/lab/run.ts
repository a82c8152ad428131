/** Running short commands (argument arrays, never a shell), with their output and a deadline. */
import { spawn, spawnSync } from 'node:child_process';

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Resolve with the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
}

export interface RunResult {
  argv: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly result: RunResult,
    detail?: string,
  ) {
    const status = result.signal ? `was killed by ${result.signal}` : `exited with ${result.code}`;
    const stderr = result.stderr.trim();
    super(`${result.argv.join(' ')} ${status}${stderr ? `: ${stderr}` : ''}${detail ? `\n${detail}` : ''}`);
    this.name = 'CommandError';
  }
}

export function run(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // A command that exits before reading all its input is reported by its exit status, not by EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        argv,
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (timedOut) reject(new CommandError(result, `(no exit within ${options.timeoutMs} ms)`));
      else if (code !== 0 && !options.allowFailure) reject(new CommandError(result));
      else resolve(result);
    });
  });
}

/** For process exit handlers, where nothing asynchronous runs any more. Never throws. */
export function runSync(argv: string[], options: { input?: string; timeoutMs?: number } = {}): RunResult {
  const [file, ...args] = argv;
  const r = spawnSync(file ?? 'false', args, {
    input: options.input ?? '',
    timeout: options.timeoutMs ?? 30_000,
    encoding: 'utf8',
  });
  return { argv, code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '' };
}

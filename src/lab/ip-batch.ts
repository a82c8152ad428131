/**
 * `ip -batch -`: many iproute2 commands for one process spawn. Spawns are what an emulated VM makes
 * expensive (~0.4 s each), so the lab configures a whole namespace with one of these.
 */
import { CommandError, run, runSync, type RunResult } from './run.js';

export interface IpBatchOptions {
  /** Run inside this named namespace (`ip -n`); omitted only for `netns add/delete` lines. */
  netns?: string;
  timeoutMs?: number;
  /** Keep going after a failing line (used for cleanup, where "already gone" is fine). */
  force?: boolean;
}

function ipArgv(options: IpBatchOptions): string[] {
  return ['ip', ...(options.netns ? ['-n', options.netns] : []), ...(options.force ? ['-force'] : []), '-batch', '-'];
}

/** ip names the failing line by number ("Command failed -:3"); put the line itself in the error. */
function explain(result: RunResult, lines: string[]): string | undefined {
  const failed = [...result.stderr.matchAll(/Command failed -:(\d+)/g)].map((m) => Number(m[1]));
  if (failed.length === 0) return undefined;
  return failed.map((n) => `  line ${n}: ${lines[n - 1] ?? '?'}`).join('\n');
}

export async function ipBatch(lines: string[], options: IpBatchOptions = {}): Promise<RunResult> {
  if (lines.length === 0) return { argv: [], code: 0, signal: null, stdout: '', stderr: '' };
  const result = await run(ipArgv(options), {
    input: lines.join('\n') + '\n',
    allowFailure: true,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  if (result.code !== 0 && !options.force) throw new CommandError(result, explain(result, lines));
  return result;
}

export function ipBatchSync(lines: string[], options: IpBatchOptions = {}): RunResult {
  if (lines.length === 0) return { argv: [], code: 0, signal: null, stdout: '', stderr: '' };
  return runSync(ipArgv(options), {
    input: lines.join('\n') + '\n',
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
}

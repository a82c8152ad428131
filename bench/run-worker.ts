/**
 * Starts one measuring child (worker.ts) in a process group of its own, relays its progress and
 * collects its messages. A step that runs longer than stepTimeoutMs gets the group killed (the
 * worker removes its namespace on SIGTERM; the harness sweeps anything left after a SIGKILL),
 * and what was measured until then is kept.
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { decodeMessage, type WorkerMessage } from './worker-protocol.js';

export interface WorkerOutcome {
  readonly messages: WorkerMessage[];
  readonly status: 'ok' | 'timeout' | 'failed';
  readonly note?: string;
}

export interface WorkerOptions {
  readonly args: readonly string[];
  readonly stepTimeoutMs: number;
  readonly onMessage?: (m: WorkerMessage) => void;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
const running = new Set<number>();

/** Removes namespaces a killed worker could not remove itself (withNetns names them by pid). */
function sweepNamespaces(pid: number): void {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (name.startsWith(`kpt-bench-${pid}-`)) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        // raced with the worker's own cleanup
      }
    }
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Stops every running worker (the harness's own Ctrl-C handler calls this). */
export function killAllWorkers(): void {
  for (const pid of running) {
    killGroup(pid, 'SIGTERM');
  }
}

export function runWorker(opts: WorkerOptions): Promise<WorkerOutcome> {
  return new Promise((resolve) => {
    // detached: a process group of its own, so a timeout also ends its iptables-restore / nft.
    const child = spawn(process.execPath, [WORKER, ...opts.args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const pid = child.pid!;
    running.add(pid);
    const messages: WorkerMessage[] = [];
    let timedOut = false;
    let lastEvent = '';
    let killTimer: NodeJS.Timeout | undefined;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (watchdog) clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        timedOut = true;
        killGroup(pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), 10_000);
      }, opts.stepTimeoutMs);
    };
    arm();
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString('utf8')).slice(-4000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = decodeMessage(line);
      if (!m) return;
      messages.push(m);
      if (m.type === 'progress') lastEvent = m.what;
      arm();
      opts.onMessage?.(m);
    });
    child.on('close', (code, signal) => {
      if (watchdog) clearTimeout(watchdog);
      if (killTimer) clearTimeout(killTimer);
      running.delete(pid);
      killGroup(pid, 'SIGKILL'); // anything of the group still alive
      sweepNamespaces(pid);
      const error = messages.find((m) => m.type === 'error');
      if (timedOut) {
        resolve({ messages, status: 'timeout', note: `cut off after ${Math.round(opts.stepTimeoutMs / 1000)} s in "${lastEvent}" (--step-timeout)` });
      } else if (code === 0 && messages.some((m) => m.type === 'done')) {
        resolve({ messages, status: 'ok' });
      } else {
        // The error line of a crash, not the stack frames after it.
        const crash = stderr.split('\n').find((l) => /Error\b/.test(l)) ?? stderr.trim().split('\n').slice(-1)[0] ?? '';
        const why = error && error.type === 'error' ? error.message.split('\n')[0] : `exit ${code ?? signal}: ${crash.trim()}`;
        resolve({ messages, status: 'failed', note: why ?? 'failed' });
      }
    });
  });
}

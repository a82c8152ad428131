import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nodeScriptCommand, nodeScriptEnv } from './node-script-command.js';
import { RemoteApiServer } from './remote-api-server.js';

/**
 * Starts the test API server as a child process, optionally inside a network namespace
 * (`ip netns exec`), and returns a handle that drives it over its control socket. The child
 * exits when `stop()` is called, and also when this process dies (its stdin closes).
 */

export interface SpawnApiServerOptions {
  /** Run inside this network namespace (it must exist). */
  netns?: string;
  host?: string;
  port?: number;
  tls?: boolean;
  token?: string;
  certificateHosts?: string[];
  bookmarkIntervalMs?: number;
  eventLogCapacity?: number;
  initialResourceVersion?: number;
  expiredWatchResponse?: 'event' | 'status';
  defaultWatchTimeoutSeconds?: number;
  /** How long to wait for the child to report its URL. Default 30 s. */
  startTimeoutMs?: number;
}

export interface SpawnedApiServer extends RemoteApiServer {
  readonly pid: number;
  readonly caFile: string | undefined;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), remove the work directory. Idempotent. */
  stop(): Promise<void>;
}

interface ReadyLine {
  url: string;
  kubeconfig: string;
  controlSocket: string;
  caFile: string | null;
  pid: number;
}

function cliArguments(options: SpawnApiServerOptions, workDir: string, socket: string): string[] {
  const args = ['--work-dir', workDir, '--control-socket', socket, '--exit-on-stdin-close'];
  if (options.host !== undefined) args.push('--host', options.host);
  if (options.port !== undefined) args.push('--port', String(options.port));
  if (options.tls === false) args.push('--plain');
  if (options.token !== undefined) args.push('--token', options.token);
  for (const host of options.certificateHosts ?? []) args.push('--certificate-host', host);
  if (options.bookmarkIntervalMs !== undefined) args.push('--bookmark-interval-ms', String(options.bookmarkIntervalMs));
  if (options.eventLogCapacity !== undefined) args.push('--event-log-capacity', String(options.eventLogCapacity));
  if (options.initialResourceVersion !== undefined) args.push('--initial-resource-version', String(options.initialResourceVersion));
  if (options.expiredWatchResponse !== undefined) args.push('--expired-watch-response', options.expiredWatchResponse);
  if (options.defaultWatchTimeoutSeconds !== undefined) args.push('--watch-timeout-seconds', String(options.defaultWatchTimeoutSeconds));
  return args;
}

function waitForReadyLine(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<ReadyLine> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const fail = (message: string): void => {
      clearTimeout(timer);
      lines.close();
      reject(new Error(`${message}\n${stderr()}`));
    };
    const timer = setTimeout(() => fail(`test API server did not start within ${timeoutMs} ms`), timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      try {
        resolve(JSON.parse(line) as ReadyLine);
      } catch {
        reject(new Error(`unexpected output from the test API server: ${line}\n${stderr()}`));
      }
    });
    child.once('exit', (code, signal) => fail(`test API server exited early (code ${String(code)}, signal ${String(signal)})`));
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function spawnApiServer(options: SpawnApiServerOptions = {}): Promise<SpawnedApiServer> {
  const workDir = await mkdtemp(join(tmpdir(), 'kube-proxy-ts-apiserver-'));
  const socket = join(workDir, 'control.sock');
  const [command = process.execPath, ...baseArgs] = nodeScriptCommand('cli');
  const argv = options.netns !== undefined ? ['ip', 'netns', 'exec', options.netns, command, ...baseArgs] : [command, ...baseArgs];
  const [file = command, ...args] = argv;
  const child = spawn(file, [...args, ...cliArguments(options, workDir, socket)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: nodeScriptEnv(),
  });
  let stderrText = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrText = (stderrText + chunk.toString('utf8')).slice(-8000);
  });

  let ready: ReadyLine;
  try {
    ready = await waitForReadyLine(child, options.startTimeoutMs ?? 30000, () => stderrText);
  } catch (error) {
    child.kill('SIGKILL');
    await waitForExit(child);
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }

  const remote = new RemoteApiServer({ url: ready.url, kubeconfigPath: ready.kubeconfig, controlSocketPath: ready.controlSocket });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      const exited = waitForExit(child);
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killTimer);
      child.stdin?.destroy();
      await rm(workDir, { recursive: true, force: true });
    })();
    return stopped;
  };
  return Object.assign(remote, { pid: ready.pid, caFile: ready.caFile ?? undefined, stop });
}

/** The lab's end of one namespace agent (agent.ts): starts it, sends commands, matches answers. */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentMessage, AgentRequest } from './agent-protocol.js';
import { spawnInNetns, unrefChild } from './netns-spawn.js';

type Command = AgentRequest extends infer R ? (R extends AgentRequest ? Omit<R, 'id'> : never) : never;

/**
 * From dist, the compiled agent.js next to this file. From src (under tap), the compiled copy in
 * dist when it is at least as new as agent.ts, else agent.ts itself through Node's type stripping:
 * stripping costs every agent start ~0.1 s here and seconds in an emulated VM.
 */
export function agentScriptPath(): string {
  const self = fileURLToPath(import.meta.url);
  if (!self.endsWith('.ts')) return fileURLToPath(new URL('./agent.js', import.meta.url));
  const source = fileURLToPath(new URL('./agent.ts', import.meta.url));
  const compiled = join(dirname(self), '../../dist/src/lab/agent.js');
  try {
    if (statSync(compiled).mtimeMs >= statSync(source).mtimeMs) return compiled;
  } catch {
    // Not built.
  }
  return source;
}

/**
 * The agent's environment: without NODE_OPTIONS and coverage variables a test runner set for itself
 * (tap's loaders would make every agent start slower and write coverage files).
 */
function agentEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  delete env['NODE_V8_COVERAGE'];
  for (const k of Object.keys(env)) if (k.startsWith('TAP')) delete env[k];
  return env;
}

const STDERR_TAIL = 4096;

export class AgentClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stderrTail = '';
  private exitError: Error | undefined;
  readonly exited: Promise<void>;

  private constructor(
    readonly netns: string,
    readonly name: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stderr.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString('utf8')).slice(-STDERR_TAIL);
    });
    // Writing to an agent that just died: the exit handler reports it.
    child.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.exitError = new Error(
          `lab agent in ${name} exited (${signal ?? `code ${code}`})${this.stderrTail ? `: ${this.stderrTail.trim()}` : ''}`,
        );
        for (const p of this.pending.values()) p.reject(this.exitError);
        this.pending.clear();
        resolve();
      });
    });
    createInterface({ input: child.stdout }).on('line', (line) => this.receive(line));
    // An idle agent must not keep Node alive: a test that throws with its lab up has to end (and
    // clean up on exit) instead of hanging until the runner's timeout. Pending commands and start-up
    // keep it alive through their deadline timers.
    unrefChild(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitError === undefined;
  }

  /** Starts the agent; the returned client is usable at once (commands queue until it is up). */
  static spawn(netns: string, name: string, sysctls: readonly { key: string; value: string }[] = []): AgentClient {
    const settings = sysctls.flatMap((s) => ['--sysctl', `${s.key}=${s.value}`]);
    const child = spawnInNetns(netns, [process.execPath, agentScriptPath(), '--name', name, '--netns', netns, ...settings], {
      env: agentEnv(),
    });
    return new AgentClient(netns, name, child);
  }

  /** Resolves once the agent printed its ready line; kills it when that takes too long. */
  ready(timeoutMs: number): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
        reject(new Error(`lab agent in ${this.name} did not start within ${timeoutMs} ms: ${this.stderrTail.trim()}`));
      }, timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(this.exitError);
      });
    });
  }

  private isReady = false;
  private readyWaiters: (() => void)[] = [];

  private receive(line: string): void {
    let msg: AgentMessage;
    try {
      msg = JSON.parse(line) as AgentMessage;
    } catch {
      this.stderrTail = (this.stderrTail + `stdout: ${line}\n`).slice(-STDERR_TAIL);
      return;
    }
    if ('event' in msg) {
      this.isReady = true;
      for (const w of this.readyWaiters.splice(0)) w();
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(`lab agent in ${this.name}: ${msg.error}`));
  }

  request<T>(command: Command, timeoutMs: number): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`lab agent in ${this.name}: no answer to ${command.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin.write(JSON.stringify({ ...command, id }) + '\n');
    });
  }

  /** Immediate and synchronous: usable from exit handlers. */
  kill(): void {
    if (this.exitError) return;
    try {
      this.child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    // Waiting for the exit must keep Node alive (the child is unref'd).
    this.child.ref();
    this.kill();
    await this.exited;
  }
}

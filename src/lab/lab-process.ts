/** A long-running process the lab started in one of its namespaces (a proxy, a tcpdump…). */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { unrefChild } from './netns-spawn.js';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Output kept per stream; older output is dropped beyond this. */
const OUTPUT_LIMIT = 8 * 1024 * 1024;
/** Complete lines kept for waitForOutput. */
const LINE_LIMIT = 100_000;

export class LabProcess {
  private out = '';
  private err = '';
  private readonly partial = { stdout: '', stderr: '' };
  /** Complete output lines of both streams in arrival order; lineBase counts those dropped. */
  private lines: string[] = [];
  private lineBase = 0;
  private exit: ProcessExit | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly exitPromise: Promise<ProcessExit>;

  constructor(
    /** The namespace's lab name (node1, client, web-1…). */
    readonly ns: string,
    readonly argv: readonly string[],
    readonly child: ChildProcessWithoutNullStreams,
    private readonly stopTimeoutMs: number,
    /** Told when the process is gone, without keeping Node alive for it (unlike `exited`). */
    onGone: () => void = () => {},
  ) {
    child.stdout.on('data', (b: Buffer) => {
      const text = b.toString('utf8');
      this.out = (this.out + text).slice(-OUTPUT_LIMIT);
      this.addLines('stdout', text);
    });
    child.stderr.on('data', (b: Buffer) => {
      const text = b.toString('utf8');
      this.err = (this.err + text).slice(-OUTPUT_LIMIT);
      this.addLines('stderr', text);
    });
    child.stdin.on('error', () => {});
    // A running proxy must not keep a finished (or failed) test process alive; whoever waits for
    // the exit (`exited`) keeps it alive for as long as that takes.
    unrefChild(child);
    this.exitPromise = new Promise((resolve) => {
      child.on('error', (e) => {
        this.err += `\nspawn failed: ${e.message}`;
        this.exit = { code: null, signal: null };
        this.notify();
        onGone();
        resolve(this.exit);
      });
      child.on('close', (code, signal) => {
        // A last line without a newline still counts.
        this.addLines('stdout', '\n');
        this.addLines('stderr', '\n');
        this.exit = { code, signal };
        this.notify();
        onGone();
        resolve(this.exit);
      });
    });
  }

  /** Resolves when the process has exited (never rejects). */
  get exited(): Promise<ProcessExit> {
    if (this.running) this.child.ref();
    return this.exitPromise;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  get exitStatus(): ProcessExit | undefined {
    return this.exit;
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  private addLines(stream: 'stdout' | 'stderr', text: string): void {
    const parts = (this.partial[stream] + text).split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const line of parts) if (line) this.lines.push(line);
    if (this.lines.length > LINE_LIMIT) {
      const drop = this.lines.length - LINE_LIMIT;
      this.lines = this.lines.slice(drop);
      this.lineBase += drop;
    }
    this.notify();
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  /**
   * Resolves with the first output line (stdout or stderr) matching `pattern`, including lines
   * printed before the call. Rejects when the process exits first or the deadline passes.
   */
  waitForOutput(pattern: RegExp | string, timeoutMs = 30_000): Promise<string> {
    const matches = (line: string) => (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line));
    let seen = 0;
    // Only lines not looked at yet, so waiting on a chatty process stays linear.
    const find = (): string | undefined => {
      for (let i = Math.max(seen, this.lineBase); i < this.lineBase + this.lines.length; i++) {
        const line = this.lines[i - this.lineBase]!;
        if (matches(line)) return line;
      }
      seen = this.lineBase + this.lines.length;
      return undefined;
    };
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const line = find();
        if (line !== undefined) done(() => resolve(line));
        else if (this.exit) done(() => reject(new Error(`${this.describe()} exited before printing ${pattern}\n${this.tail()}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`${this.describe()} printed no ${pattern} within ${timeoutMs} ms\n${this.tail()}`))),
        timeoutMs,
      );
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Sends a signal to the process and, when it has its own group, to everything it started. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running || this.pid === undefined) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // Gone already.
      }
    }
  }

  /** SIGTERM (or `signal`), then SIGKILL after the stop timeout. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = this.stopTimeoutMs): Promise<ProcessExit> {
    if (!this.running) return this.exit!;
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  describe(): string {
    return `${this.argv.join(' ')} (in ${this.ns}, pid ${this.pid})`;
  }

  /** The last lines of output, for error messages. */
  tail(lines = 20): string {
    return `${this.out}${this.err}`.trimEnd().split('\n').slice(-lines).join('\n');
  }
}

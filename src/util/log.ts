import { Writable } from 'node:stream';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * kube-proxy's `-v` verbosity mapped onto pino levels: 0-1 info, 2-3 debug, 4+ trace
 * (upstream logs its per-sync details at V(2) and rule dumps at V(4)).
 */
export function levelForVerbosity(v: number): LevelWithSilent {
  if (v >= 4) return 'trace';
  if (v >= 2) return 'debug';
  return 'info';
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A readable one-line rendering of a pino JSON record, for terminals. */
export function formatHuman(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time, msg, pid: _pid, hostname: _host, ...rest } = rec;
  const when = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const name = LEVEL_NAMES[level as number] ?? String(level);
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`)
    .join(' ');
  return `${when} ${name.padEnd(5)} ${String(msg ?? '')}${fields ? ' ' + fields : ''}\n`;
}

class HumanStream extends Writable {
  constructor(private readonly out: NodeJS.WritableStream) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line) this.out.write(formatHuman(line));
    }
    done();
  }
}

export interface LogOptions {
  level?: LevelWithSilent;
  /** 'json' for log collectors, 'text' for people; 'auto' picks text on a terminal. */
  format?: 'json' | 'text' | 'auto';
  destination?: NodeJS.WritableStream;
}

/** Structured logs go to stderr so that `--dry-run` output on stdout stays clean. */
export function createLogger(opts: LogOptions = {}): Logger {
  const out = opts.destination ?? process.stderr;
  const format = opts.format ?? 'auto';
  const human = format === 'text' || (format === 'auto' && (out as NodeJS.WriteStream).isTTY === true);
  const stream = human ? new HumanStream(out) : out;
  return pino({ level: opts.level ?? 'info', base: undefined }, stream);
}

/** A logger that drops everything, for pure code under test. */
export const silentLogger: Logger = pino({ level: 'silent' });

import { run, runChecked, type KernelTarget } from './exec.js';
import type { IPFamily } from '../model/ip.js';

export type IptablesTable = 'filter' | 'nat' | 'mangle';

/** Which iptables implementation to drive: the system default, or an explicit backend. */
export type IptablesBackend = 'default' | 'nft' | 'legacy';

/** A failed iptables-restore, with the input lines around the one the tool complained about. */
export class RestoreError extends Error {
  constructor(
    message: string,
    readonly line: number | undefined,
    readonly context: readonly string[],
  ) {
    super(message);
    this.name = 'RestoreError';
  }
}

/** iptables reports the failing input line as "line N failed" or "Error occurred at line: N". */
export function failingLine(stderr: string): number | undefined {
  const m = stderr.match(/line:? (\d+)/i);
  return m ? Number(m[1]) : undefined;
}

/** The lines around `line` (1-based) of a restore input, numbered, for the error log. */
export function linesAround(text: string, line: number, radius = 3): string[] {
  const lines = text.split('\n');
  const from = Math.max(1, line - radius);
  const to = Math.min(lines.length, line + radius);
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${i}: ${lines[i - 1]}`);
  return out;
}

/**
 * The iptables command family for one IP family. All writes of rule sets go through
 * `iptables-restore --noflush` with the input on stdin; single-rule checks use `iptables -C`.
 */
export class Iptables {
  /** e.g. `iptables`, `ip6tables-legacy`; the tools are this plus `-restore` / `-save`. */
  private readonly command0: string;

  constructor(
    readonly family: IPFamily,
    private readonly target: KernelTarget = {},
    backend: IptablesBackend = 'default',
  ) {
    const base = family === 'IPv4' ? 'iptables' : 'ip6tables';
    this.command0 = backend === 'default' ? base : `${base}-${backend}`;
  }

  private bin(suffix = ''): string {
    return `${this.command0}${suffix}`;
  }

  async restore(text: string, opts: { counters?: boolean } = {}): Promise<void> {
    const args = [this.bin('-restore'), '--noflush', '-w', '5', '-W', '100000'];
    if (opts.counters !== false) args.push('--counters');
    const r = await run(args, { ...this.target, input: text });
    if (r.code === 0) return;
    const line = failingLine(r.stderr);
    const context = line !== undefined ? linesAround(text, line) : [];
    throw new RestoreError(`${this.bin('-restore')} failed (exit ${r.code}): ${r.stderr.trim()}`, line, context);
  }

  async save(table?: IptablesTable): Promise<string> {
    const args = [this.bin('-save')];
    if (table) args.push('-t', table);
    return (await runChecked(args, this.target)).stdout;
  }

  /** Runs one iptables command; resolves with whether it exited 0. */
  async command(args: readonly string[]): Promise<boolean> {
    const r = await run([this.bin(), '-w', '5', ...args], this.target);
    return r.code === 0;
  }

  async chainExists(table: IptablesTable, chain: string): Promise<boolean> {
    return this.command(['-t', table, '-S', chain, '1']);
  }

  async ensureChain(table: IptablesTable, chain: string): Promise<void> {
    if (await this.chainExists(table, chain)) return;
    if (!(await this.command(['-t', table, '-N', chain])) && !(await this.chainExists(table, chain))) {
      throw new Error(`cannot create chain ${chain} in table ${table}`);
    }
  }

  /** Inserts the rule at the top of `chain` unless an identical rule is already there. */
  async ensureRulePrepended(table: IptablesTable, chain: string, rule: readonly string[]): Promise<boolean> {
    if (await this.command(['-t', table, '-C', chain, ...rule])) return false;
    if (!(await this.command(['-t', table, '-I', chain, ...rule]))) {
      throw new Error(`cannot insert rule into ${table}/${chain}: ${rule.join(' ')}`);
    }
    return true;
  }

  async deleteRule(table: IptablesTable, chain: string, rule: readonly string[]): Promise<boolean> {
    return this.command(['-t', table, '-D', chain, ...rule]);
  }

  /** Whether this iptables drives nf_tables (iptables-nft) rather than the legacy x_tables. */
  async isNftBackend(): Promise<boolean> {
    const r = await run([this.bin(), '--version'], this.target);
    return r.stdout.includes('nf_tables');
  }

  /** Whether MASQUERADE --random-fully is available (iptables >= 1.6.2, as upstream checks). */
  async supportsRandomFully(): Promise<boolean> {
    const r = await run([this.bin(), '--version'], this.target);
    const m = r.stdout.match(/v(\d+)\.(\d+)\.(\d+)/);
    if (!m) return false;
    const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return maj > 1 || (maj === 1 && (min > 6 || (min === 6 && patch >= 2)));
  }
}

/** Chain names declared in one table of an iptables-save dump. */
export function chainsInSave(save: string, table: IptablesTable): Set<string> {
  const chains = new Set<string>();
  let inTable = false;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) {
      inTable = line.slice(1).trim() === table;
      continue;
    }
    if (!inTable) continue;
    if (line.startsWith('COMMIT')) break;
    if (line.startsWith(':')) chains.add(line.slice(1).split(' ', 1)[0]!);
  }
  return chains;
}

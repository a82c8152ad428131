/**
 * Applies transactions with `nft -j -f -`: the JSON goes to nft's standard input, nft turns it
 * into one netlink batch. Argument arrays only, never a shell.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { targetArgv, type KernelTarget } from '../../kernel/exec.js';
import type { NftJsonDocument } from '../../kernel/nftables-json.js';
import type { IPFamily } from '../../model/ip.js';
import { NftablesApplyError, type NftablesApplier, type TableListing } from './applier.js';
import { ipKeyword } from './expressions.js';
import { TABLE_NAME } from './layout.js';

/** A full sync of 10k services is tens of MB of JSON; nft needs seconds, not minutes. */
const APPLY_TIMEOUT_MS = 5 * 60 * 1000;
const LIST_TIMEOUT_MS = 60 * 1000;

export interface NftResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs nft with `input` as its standard input. nft 1.0.6 reads `-f -` by opening /dev/stdin,
 * which fails with ENXIO on the socketpair Node gives a child as stdin; a file descriptor of an
 * (already unlinked) private file opens fine, so the input goes through one.
 */
export async function runNft(args: readonly string[], target: KernelTarget, input?: string, timeoutMs = LIST_TIMEOUT_MS): Promise<NftResult> {
  let stdin: number | 'ignore' = 'ignore';
  if (input !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'kpt-nft-'));
    try {
      const file = join(dir, 'transaction.json');
      writeFileSync(file, input, { mode: 0o600 });
      stdin = openSync(file, 'r');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const argv = targetArgv(['nft', ...args], target);
  try {
    return await new Promise<NftResult>((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: [stdin, 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      timer.unref();
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({
          code: code ?? 128,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8') + (signal ? `killed by ${signal}` : ''),
        });
      });
    });
  } finally {
    if (typeof stdin === 'number') closeSync(stdin);
  }
}

interface ListedObject {
  chain?: { table?: string; name?: string };
  set?: { table?: string; name?: string; timeout?: number };
}

function isMissingTable(stderr: string): boolean {
  return /No such file or directory/.test(stderr);
}

/** nft's JSON errors carry no position (`internal:0:0-0:`); keep the messages, drop the noise. */
function errorDetail(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^internal:0:0-0:\s*/, '').trim())
    .filter((l) => l !== '');
  return lines.length ? lines.join('; ') : 'nft failed without a message';
}

export function nftCommandApplier(target: KernelTarget = {}): NftablesApplier {
  return {
    name: 'nft',
    async apply(doc: NftJsonDocument): Promise<void> {
      if (doc.nftables.length === 0) return;
      const r = await runNft(['-j', '-f', '-'], target, JSON.stringify(doc), APPLY_TIMEOUT_MS);
      if (r.code !== 0) throw new NftablesApplyError('nft', errorDetail(r.stderr), doc.nftables.length);
    },
    async listTable(family: IPFamily): Promise<TableListing | undefined> {
      const fam = ipKeyword(family);
      // `list table` would print every map element too; chains and sets are all a sync needs.
      const chains = await runNft(['-j', 'list', 'chains', fam], target);
      if (chains.code !== 0) throw new Error(`nft list chains ${fam}: ${errorDetail(chains.stderr)}`);
      const sets = await runNft(['-j', 'list', 'sets', fam], target);
      if (sets.code !== 0) throw new Error(`nft list sets ${fam}: ${errorDetail(sets.stderr)}`);
      const ours = (o: { table?: string }): boolean => o.table === TABLE_NAME;
      const chainObjects = (JSON.parse(chains.stdout) as { nftables: ListedObject[] }).nftables.flatMap((o) => (o.chain && ours(o.chain) ? [o.chain] : []));
      const setObjects = (JSON.parse(sets.stdout) as { nftables: ListedObject[] }).nftables.flatMap((o) => (o.set && ours(o.set) ? [o.set] : []));
      if (chainObjects.length === 0 && setObjects.length === 0) {
        const table = await runNft(['list', 'table', fam, TABLE_NAME], target);
        if (table.code !== 0 && isMissingTable(table.stderr)) return undefined;
      }
      return {
        chains: chainObjects.map((c) => c.name!).filter((n) => typeof n === 'string'),
        sets: setObjects.map((s) => ({ name: s.name!, ...(typeof s.timeout === 'number' ? { timeout: s.timeout } : {}) })),
      };
    },
    async deleteTable(family: IPFamily): Promise<boolean> {
      const fam = ipKeyword(family);
      const r = await runNft(['delete', 'table', fam, TABLE_NAME], target);
      if (r.code === 0) return true;
      if (isMissingTable(r.stderr)) return false;
      throw new Error(`nft delete table ${fam} ${TABLE_NAME}: ${errorDetail(r.stderr)}`);
    },
  };
}

// The same kube-proxy nftables ruleset (synthetic, upstream's layout) applied
//   1. natively: compile nft JSON + encode + one NFNL batch (the whole path),
//   2. by `nft -j -f -` (JSON),
//   3. by `nft -f -` (text),
//   4. natively from a batch built in advance (the floor: kernel time plus one sendmsg),
// each into a fresh network namespace, several runs, medians. Used by the harness (as a job of
// its own) and by `npm run bench:native`.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  applyNftJson,
  listNftChains,
  listNftRules,
  listNftSetElements,
  nativeNetlinkStatus,
  prepareNftBatch,
  sendNftBatch,
  type NftJsonDocument,
} from '../src/kernel/netlink.js';
import { kubeProxyLayout } from './native-layout.js';
import { renderNftText } from './native-nft-text.js';
import { withNetns } from './netns.js';
import { median } from './stats.js';

export interface NftBaselineOptions {
  readonly services: number;
  readonly endpoints: number;
  readonly runs: number;
  readonly family: 'ip' | 'ip6';
  readonly progress?: (what: string) => void;
}

export interface NftBaselineResult {
  readonly commands: number;
  readonly jsonBytes: number;
  readonly textBytes: number;
  readonly batchBytes: number;
  readonly messages: number;
  readonly generateMs: number;
  /** Medians over the runs, ms. */
  readonly nativeMs: number;
  readonly prepareMs: number;
  readonly sendMs: number;
  readonly nftJsonMs: number;
  readonly nftTextMs: number;
  readonly floorMs: number;
  /**
   * One rule replaced in the loaded kube-proxy table, native batch: what the kernel charges for
   * the smallest transaction at this table size, the floor under a one-endpoint sync.
   */
  readonly tinyTransactionMs: number;
  /** What each path left in the kernel, from the first run; equal strings = same state. */
  readonly states: Record<string, string>;
}

/** Runs nft in the namespace with stdin redirected from a file (Node's child stdin is a socket, which nft cannot open as /dev/stdin). */
function nft(netns: string, args: string[], inputFile: string): number {
  const fd = openSync(inputFile, 'r');
  try {
    const t0 = performance.now();
    const r = spawnSync('ip', ['netns', 'exec', netns, 'nft', ...args], { stdio: [fd, 'ignore', 'pipe'], encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`nft ${args.join(' ')} failed: ${r.stderr.slice(0, 2000)}`);
    return ms;
  } finally {
    closeSync(fd);
  }
}

const TINY_RUNS = 15;

/**
 * Median round trip of a one-rule transaction (flush a chain, add a rule) into the kube-proxy
 * table just loaded: the kernel's cost of the smallest change at this table size.
 */
async function tinyTransaction(netns: string, family: 'ip' | 'ip6'): Promise<number> {
  const [table, chain] = ['kube-proxy', 'reject-chain'];
  const change: NftJsonDocument = {
    nftables: [{ flush: { chain: { family, table, name: chain } } }, { add: { rule: { family, table, chain, expr: [{ reject: null }] } } }],
  };
  const times: number[] = [];
  for (let i = 0; i < TINY_RUNS; i++) {
    const t0 = performance.now();
    await applyNftJson(change, { netns, resolveSets: false });
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function counts(netns: string, family: 'ip' | 'ip6'): Promise<string> {
  const chains = (await listNftChains({ netns })).length;
  const rules = (await listNftRules({ netns })).length;
  const elements = (await listNftSetElements({ netns, family, table: 'kube-proxy', set: 'service-ips' })).length;
  return `${chains} chains, ${rules} rules, ${elements} service-ips elements`;
}

export async function measureNftBaselines(opts: NftBaselineOptions): Promise<NftBaselineResult> {
  const status = nativeNetlinkStatus();
  if (!status.available) throw new Error(status.reason);
  const { services, endpoints, runs, family } = opts;
  const progress = opts.progress ?? (() => {});

  const tGen = performance.now();
  const doc = kubeProxyLayout({ family, services, endpointsPerService: endpoints });
  const generateMs = performance.now() - tGen;
  const dir = mkdtempSync(join(tmpdir(), 'kpt-bench-nft-'));
  const jsonFile = join(dir, 'ruleset.json');
  const textFile = join(dir, 'ruleset.nft');
  const samples = {
    native: [] as number[],
    prepare: [] as number[],
    send: [] as number[],
    nftJson: [] as number[],
    nftText: [] as number[],
    floor: [] as number[],
    tiny: [] as number[],
  };
  const states: Record<string, string> = {};
  try {
    // The inputs for nft live in files only, so that this process does not hold them in memory.
    const json = JSON.stringify(doc);
    writeFileSync(jsonFile, json);
    const text = renderNftText(doc);
    writeFileSync(textFile, text);
    const jsonBytes = Buffer.byteLength(json);
    const textBytes = Buffer.byteLength(text);

    // Warm the JIT on a small ruleset so that the first timed run measures steady-state code.
    prepareNftBatch(kubeProxyLayout({ family, services: 300, endpointsPerService: endpoints }));
    const prepared = prepareNftBatch(doc);
    for (let run = 1; run <= runs; run++) {
      progress(`run ${run}/${runs}: native batch`);
      await withNetns(`native-${run}`, async (ns) => {
        const t0 = performance.now();
        const batch = prepareNftBatch(doc);
        const t1 = performance.now();
        await sendNftBatch(batch, { netns: ns });
        const t2 = performance.now();
        samples.prepare.push(t1 - t0);
        samples.send.push(t2 - t1);
        samples.native.push(t2 - t0);
        if (run === 1) states.native = await counts(ns, family);
      });
      progress(`run ${run}/${runs}: nft -j -f`);
      await withNetns(`nftjson-${run}`, async (ns) => {
        samples.nftJson.push(nft(ns, ['-j', '-f', '-'], jsonFile));
        if (run === 1) states.nftJson = await counts(ns, family);
      });
      progress(`run ${run}/${runs}: nft -f`);
      await withNetns(`nfttext-${run}`, async (ns) => {
        samples.nftText.push(nft(ns, ['-f', '-'], textFile));
        if (run === 1) states.nftText = await counts(ns, family);
      });
      progress(`run ${run}/${runs}: pre-built batch`);
      await withNetns(`floor-${run}`, async (ns) => {
        const t0 = performance.now();
        await sendNftBatch(prepared, { netns: ns });
        samples.floor.push(performance.now() - t0);
        if (run === 1) states.floor = await counts(ns, family);
        samples.tiny.push(await tinyTransaction(ns, family));
      });
    }
    return {
      commands: doc.nftables.length,
      jsonBytes,
      textBytes,
      batchBytes: prepared.bytes,
      messages: prepared.messages,
      generateMs,
      nativeMs: median(samples.native),
      prepareMs: median(samples.prepare),
      sendMs: median(samples.send),
      nftJsonMs: median(samples.nftJson),
      nftTextMs: median(samples.nftText),
      floorMs: median(samples.floor),
      tinyTransactionMs: median(samples.tiny),
      states,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

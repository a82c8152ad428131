// Benchmark: the same kube-proxy nftables ruleset (synthetic, upstream's layout) applied
//   1. natively: compile nft JSON + encode + one NFNL batch (the whole path),
//   2. by `nft -j -f -` (JSON),
//   3. by `nft -f -` (text),
//   4. natively from a batch built in advance (the floor: kernel time plus one sendmsg),
// each into a fresh network namespace, several runs, medians compared.
//
//   npm run build && node dist/bench/native-nftables.js [--services 10000] [--endpoints 10] [--runs 3] [--family ip]
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import {
  listNftChains,
  listNftRules,
  listNftSetElements,
  nativeNetlinkStatus,
  prepareNftBatch,
  sendNftBatch,
} from '../src/kernel/netlink.js';
import { kubeProxyLayout } from './native-layout.js';
import { renderNftText } from './native-nft-text.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' },
    endpoints: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    family: { type: 'string', default: 'ip' },
  },
});
const services = Number(values.services);
const endpoints = Number(values.endpoints);
const runs = Number(values.runs);
const family = values.family === 'ip6' ? 'ip6' : 'ip';

const namespaces = new Set<string>();
function createNetns(purpose: string): string {
  const name = `kptn-${process.pid}-${purpose}`;
  const r = spawnSync('ip', ['netns', 'add', name]);
  if (r.status !== 0) throw new Error(`ip netns add ${name} failed: ${r.stderr}`);
  namespaces.add(name);
  return name;
}
function deleteNetns(name: string): void {
  spawnSync('ip', ['netns', 'del', name]);
  namespaces.delete(name);
}
process.on('exit', () => {
  for (const name of namespaces) spawnSync('ip', ['netns', 'del', name]);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

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

function writeInput(file: string, content: string): number {
  writeFileSync(file, content);
  return Buffer.byteLength(content);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function counts(netns: string): Promise<string> {
  const chains = (await listNftChains({ netns })).length;
  const rules = (await listNftRules({ netns })).length;
  const elements = (await listNftSetElements({ netns, family, table: 'kube-proxy', set: 'service-ips' })).length;
  return `${chains} chains, ${rules} rules, ${elements} service-ips elements`;
}

async function main(): Promise<void> {
  const status = nativeNetlinkStatus();
  if (!status.available) throw new Error(status.reason);

  const tGen = performance.now();
  const doc = kubeProxyLayout({ family, services, endpointsPerService: endpoints });
  const genMs = performance.now() - tGen;
  const dir = mkdtempSync(join(tmpdir(), 'kptn-bench-'));
  const jsonFile = join(dir, 'ruleset.json');
  const textFile = join(dir, 'ruleset.nft');
  // The inputs for nft live in files only, so that this process does not hold them in memory.
  const jsonBytes = writeInput(jsonFile, JSON.stringify(doc));
  const textBytes = writeInput(textFile, renderNftText(doc));

  // Warm the JIT on a small ruleset so that the first timed run measures steady-state code.
  prepareNftBatch(kubeProxyLayout({ family, services: 300, endpointsPerService: endpoints }));
  const prepared = prepareNftBatch(doc);
  process.stdout.write(
    `# ${services} services x ${endpoints} endpoints (${family}): ${doc.nftables.length} JSON commands, ` +
      `JSON ${(jsonBytes / 1e6).toFixed(1)} MB, text ${(textBytes / 1e6).toFixed(1)} MB, ` +
      `batch ${(prepared.bytes / 1e6).toFixed(1)} MB in ${prepared.messages} netlink messages; generated in ${genMs.toFixed(0)} ms\n`,
  );

  const samples: Record<string, number[]> = { native: [], prepare: [], send: [], nftJson: [], nftText: [], prebuilt: [] };
  const checks: Record<string, string> = {};
  try {
    for (let run = 1; run <= runs; run++) {
      // Native, the whole path from the JSON document.
      let ns = createNetns(`native-${run}`);
      const t0 = performance.now();
      const batch = prepareNftBatch(doc);
      const t1 = performance.now();
      await sendNftBatch(batch, { netns: ns });
      const t2 = performance.now();
      samples.prepare?.push(t1 - t0);
      samples.send?.push(t2 - t1);
      samples.native?.push(t2 - t0);
      if (run === 1) checks.native = await counts(ns);
      deleteNetns(ns);

      ns = createNetns(`nftjson-${run}`);
      samples.nftJson?.push(nft(ns, ['-j', '-f', '-'], jsonFile));
      if (run === 1) checks.nftJson = await counts(ns);
      deleteNetns(ns);

      ns = createNetns(`nfttext-${run}`);
      samples.nftText?.push(nft(ns, ['-f', '-'], textFile));
      if (run === 1) checks.nftText = await counts(ns);
      deleteNetns(ns);

      ns = createNetns(`prebuilt-${run}`);
      const t4 = performance.now();
      await sendNftBatch(prepared, { netns: ns });
      samples.prebuilt?.push(performance.now() - t4);
      if (run === 1) checks.prebuilt = await counts(ns);
      deleteNetns(ns);
      process.stdout.write(`# run ${run}/${runs} done\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const distinct = new Set(Object.values(checks));
  process.stdout.write(`# applied state: ${[...distinct].join(' | ')}${distinct.size === 1 ? ' (same for every path)' : ' (MISMATCH)'}\n`);

  const native = median(samples.native ?? []);
  const rows: [string, number][] = [
    ['native batch (compile + encode + send)', native],
    ['  of which: compile + encode (TypeScript, C++)', median(samples.prepare ?? [])],
    ['  of which: sendmsg + kernel + replies', median(samples.send ?? [])],
    ['nft -j -f - (JSON)', median(samples.nftJson ?? [])],
    ['nft -f - (text)', median(samples.nftText ?? [])],
    ['pre-built batch alone (floor)', median(samples.prebuilt ?? [])],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  process.stdout.write(`\n${'path'.padEnd(width)}  median ms   vs native\n`);
  for (const [name, ms] of rows) {
    const ratio = name.startsWith('  ') ? '' : `${(ms / native).toFixed(2)}x`;
    process.stdout.write(`${name.padEnd(width)}  ${ms.toFixed(0).padStart(9)}   ${ratio.padStart(9)}\n`);
  }
  process.stdout.write(`\n(${runs} runs each, median; every path into a fresh network namespace)\n`);
  if (distinct.size !== 1) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:native failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});

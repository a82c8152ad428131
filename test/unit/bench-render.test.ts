import t from 'tap';
import { modeRunFrom, nftBaselineFrom } from '../../bench/collect.js';
import { fmtMs, renderIptablesBaselineTable, renderModeTable, renderNftBaselineTable, renderRatioTable, renderReport } from '../../bench/render-table.js';
import type { BenchReport, ModeRun } from '../../bench/types.js';
import { decodeMessage, encodeMessage } from '../../bench/worker-protocol.js';

const size = { services: 1000, endpointsPerService: 10 };
const step = (totalMs: number) => ({ generateMs: totalMs / 4, applyMs: (totalMs * 3) / 4, totalMs });

function run(mode: ModeRun['mode'], full: number, one: number): ModeRun {
  return {
    mode,
    size,
    status: 'ok',
    modelMs: 12,
    steps: { full: step(full), noop: step(1), oneEndpoint: step(one), addService: step(one), churn: step(one * 3), resync: step(full) },
    latency: { samples: 50, p50Ms: one + 1, p99Ms: one * 2, maxMs: one * 3 },
    memory: { peakRssMiB: 90.5, peakHeapUsedMiB: 40 },
    kernel: { chains: 3, rules: 4 },
  };
}

const report: BenchReport = {
  schema: 1,
  command: 'npm run bench -- --quick',
  environment: { date: '2026-12-04T00:00:00.000Z', host: 'h', kernel: '6.1', cpus: 2, node: 'v24', iptablesBackend: 'iptables v1.8.9 (nf_tables)', nftVersion: 'nftables v1.0.6', ipvs: false, inVm: false },
  options: { sizes: [size], modes: ['nftables-netlink', 'iptables', 'iptables-phased'], repeats: 5, latencySamples: 50 },
  runs: [run('nftables-netlink', 100, 2), run('iptables', 1000, 20), { ...run('iptables-phased', 500, 10), status: 'timeout', note: 'cut off' }],
  nftBaselines: [
    { size, status: 'ok', runs: 3, nativeMs: 50, nftJsonMs: 600, nftTextMs: 300, floorMs: 25, tinyTransactionMs: 8, sameState: true },
    { size: { services: 5, endpointsPerService: 1 }, status: 'failed', note: 'boom' },
  ],
  notes: ['ipvs: skipped, no IPVS'],
};

t.test('number formatting', async (t) => {
  t.equal(fmtMs(1.234), '1.23');
  t.equal(fmtMs(12.34), '12.3');
  t.equal(fmtMs(1234.5), '1235');
  t.equal(fmtMs(undefined), '–');
});

t.test('mode table: one row per run, every row as wide as the header', async (t) => {
  const lines = renderModeTable(report.runs).split('\n');
  t.equal(lines.length, 2 + report.runs.length);
  const cells = (l: string) => l.split('|').length;
  for (const l of lines) t.equal(cells(l), cells(lines[0]!), l);
  t.match(lines[2]!, /^\| 1000x10 \| nftables, netlink applier \| 100 \| 1\.00 \| 2\.00 \|/);
  t.match(lines[2]!, /3\.00 \/ 4\.00 \(n=50\)/);
  t.match(lines[2]!, /3 chains, 4 rules/);
});

t.test('ratios against the first mode of the size', async (t) => {
  const text = renderRatioTable(report.runs);
  t.match(text, /iptables, one restore \(upstream\) \| nftables, netlink applier \| 10\.0x \| 10\.0x/);
});

t.test('baseline tables', async (t) => {
  const nft = renderNftBaselineTable(report);
  t.match(nft, /\| 1000x10 \| 50\.0 \| 600 \| 300 \| 25\.0 \| 12\.0x \| 6\.00x \| 2\.00x \| 8\.00 \| yes \|/);
  t.match(nft, /5x1 \| failed: boom/);
  t.match(renderIptablesBaselineTable(report.runs), /\| 1000x10 \| 1000 \| 500 \| 2\.00x \| 20\.0 \| 10\.0 \|/);
  t.equal(renderIptablesBaselineTable([report.runs[0]!]), '', 'nothing when upstream and phased were not both measured');
});

t.test('the whole report names the machine, the command and what was skipped', async (t) => {
  const md = renderReport(report);
  t.match(md, /kernel 6\.1/);
  t.match(md, /`npm run bench -- --quick`/);
  t.match(md, /- ipvs: skipped, no IPVS/);
  t.match(md, /iptables, phased restores 1000x10: timeout, cut off/);
});

t.test('JSON report round trip', async (t) => {
  t.same(JSON.parse(JSON.stringify(report)), report);
});

t.test('worker messages fold into a run; a cut-off run keeps what it had', async (t) => {
  const lines = [
    encodeMessage({ type: 'progress', what: 'first full sync' }),
    'stray output\n',
    encodeMessage({ type: 'model', ms: 5 }),
    encodeMessage({ type: 'step', name: 'full', timing: step(80) }),
    '@@bench {not json',
  ].join('');
  const messages = lines.split('\n').map(decodeMessage).filter((m) => m !== undefined);
  t.equal(messages.length, 3);
  const r = modeRunFrom('nftables-nft', size, { messages, status: 'timeout', note: 'cut off after 300 s' });
  t.same(r.steps, { full: step(80) });
  t.equal(r.modelMs, 5);
  t.equal(r.status, 'timeout');
  t.equal(r.latency, undefined);
  const b = nftBaselineFrom(size, { messages, status: 'ok' }, 3);
  t.equal(b.status, 'failed', 'a worker that ended without a baseline result');
});

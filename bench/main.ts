/**
 * The benchmark harness: every mode/applier on the same workloads in one run, each mode and size
 * in a child process of its own (worker.ts), plus the nftables baselines; prints markdown
 * tables, writes the JSON report and the SVG plot. See bench/README.md.
 *   npm run bench -- [--quick | --sizes 1000x10,100x100] [--modes nftables-netlink,iptables] [--out FILE]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { isNativeNetlinkAvailable } from '../src/kernel/netlink.js';
import { modeRunFrom, nftBaselineFrom } from './collect.js';
import { describeEnvironment } from './environment.js';
import { formatProgress } from './progress.js';
import { renderReport } from './render-table.js';
import { REPORT_MARKER } from './report-marker.js';
import { writePlot } from './write-plot.js';
import { killAllWorkers, runWorker } from './run-worker.js';
import { DEFAULT_SIZES, parseSizes, QUICK_SIZES, sizeLabel } from './sizes.js';
import { BENCH_MODES, MODE_LABELS, type BenchMode, type BenchReport, type ModeRun, type NftBaseline } from './types.js';


const usage = `usage: npm run bench -- [options]
  --quick                  sizes ${QUICK_SIZES}
  --sizes LIST             e.g. 1000x10,100x100 (default ${DEFAULT_SIZES})
  --modes LIST             of ${BENCH_MODES.join(', ')} (default: all this kernel can run)
  --repeats N              one-endpoint changes per run, median reported (5)
  --latency-samples N      event-to-kernel changes per run (50)
  --latency-budget S       stop latency sampling after S seconds, with at least 10 samples (60)
  --baseline-runs N        runs of each nftables baseline path, median reported (3)
  --no-baselines           skip the nftables text/JSON/floor baselines
  --step-timeout S         cut a mode off when one step takes longer than S seconds (300)
  --out FILE               JSON report (default bench/results/<date>-<host>.json)
  --svg FILE               plot (default bench/results/sync-vs-services.svg)
  --no-write               write no files (tables on stdout only)
  --report-stdout          also print the JSON report on stdout, one line behind "${REPORT_MARKER.trim()}" (the VM lab)`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    sizes: { type: 'string' },
    modes: { type: 'string' },
    repeats: { type: 'string', default: '5' },
    'latency-samples': { type: 'string', default: '50' },
    'latency-budget': { type: 'string', default: '60' },
    'baseline-runs': { type: 'string', default: '3' },
    'no-baselines': { type: 'boolean' },
    'step-timeout': { type: 'string', default: '300' },
    out: { type: 'string' },
    svg: { type: 'string' },
    'no-write': { type: 'boolean' },
    'report-stdout': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    // Workers remove their namespaces on SIGTERM; the loop below stops once the current one closed.
    interrupted = true;
    killAllWorkers();
  });
}

async function main(): Promise<number> {
  const sizes = parseSizes(values.sizes ?? (values.quick ? QUICK_SIZES : DEFAULT_SIZES));
  const environment = await describeEnvironment();
  const notes: string[] = [];
  const requested = values.modes ? (values.modes.split(',') as BenchMode[]) : [...BENCH_MODES];
  for (const m of requested) if (!BENCH_MODES.includes(m)) throw new Error(`unknown mode ${m}; known: ${BENCH_MODES.join(', ')}`);
  const native = isNativeNetlinkAvailable();
  const nftBackend = environment.iptablesBackend.includes('nf_tables');
  const modes = requested.filter((m) => {
    const skip = (why: string): boolean => {
      notes.push(`${MODE_LABELS[m]}: skipped, ${why}`);
      process.stderr.write(`skipping ${MODE_LABELS[m]}: ${why}\n`);
      return false;
    };
    if (m === 'nftables-netlink' && !native) return skip('the native module is not available');
    if (m === 'iptables-phased' && !nftBackend) return skip('phased restores exist only for iptables-nft (this is legacy iptables)');
    if (m === 'ipvs' && !environment.ipvs) return skip('this kernel has no IPVS (run `npm run compare-modes` for the VM lab, which has it)');
    return true;
  });
  const baselines = !values['no-baselines'] && native && modes.some((m) => m.startsWith('nftables'));
  const opts = {
    repeats: Number(values.repeats),
    latencySamples: Number(values['latency-samples']),
    latencyBudget: Number(values['latency-budget']),
    baselineRuns: Number(values['baseline-runs']),
    stepTimeoutMs: Number(values['step-timeout']) * 1000,
  };
  const runs: ModeRun[] = [];
  const nftBaselines: NftBaseline[] = [];
  const started = performance.now();
  const jobs = sizes.length * (modes.length + (baselines ? 1 : 0));
  let job = 0;
  const progress = (what: string): void => void process.stderr.write(`${formatProgress(performance.now() - started, job, jobs, what)}\n`);

  for (const size of sizes) {
    for (const mode of modes) {
      if (interrupted) break;
      job++;
      const label = `${sizeLabel(size)} ${MODE_LABELS[mode]}`;
      progress(`${label}: starting`);
      const outcome = await runWorker({
        args: ['--job', 'mode', '--mode', mode, '--size', sizeLabel(size), '--repeats', String(opts.repeats), '--latency-samples', String(opts.latencySamples), '--latency-budget', String(opts.latencyBudget)],
        stepTimeoutMs: opts.stepTimeoutMs,
        onMessage: (m) => m.type === 'progress' && progress(`${label}: ${m.what}`),
      });
      const run = modeRunFrom(mode, size, outcome);
      runs.push(run);
      progress(`${label}: ${run.status}${run.steps.full ? `, full sync ${run.steps.full.totalMs.toFixed(0)} ms` : ''}${run.note ? ` (${run.note})` : ''}`);
    }
    if (baselines && !interrupted) {
      job++;
      const label = `${sizeLabel(size)} nftables baselines`;
      progress(`${label}: starting`);
      const outcome = await runWorker({
        args: ['--job', 'nft-baseline', '--size', sizeLabel(size), '--runs', String(opts.baselineRuns)],
        stepTimeoutMs: opts.stepTimeoutMs,
        onMessage: (m) => m.type === 'progress' && progress(`${label}: ${m.what}`),
      });
      nftBaselines.push(nftBaselineFrom(size, outcome, opts.baselineRuns));
    }
  }
  if (interrupted) notes.push('interrupted: the report is partial');
  if (baselines) {
    notes.push(
      'nftables baselines use the synthetic upstream-layout ruleset of bench/native-layout.ts at the same size (services x endpoints), not the proxier\'s own transaction; every path starts from an empty namespace.',
    );
  }
  const report: BenchReport = {
    schema: 1,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    environment,
    options: { sizes, modes, repeats: opts.repeats, latencySamples: opts.latencySamples },
    runs,
    nftBaselines,
    notes,
  };
  process.stdout.write(renderReport(report));
  if (values['report-stdout']) process.stdout.write(`\n${REPORT_MARKER}${JSON.stringify(report)}\n`);
  if (!values['no-write']) {
    const stamp = environment.date.slice(0, 10);
    const out = values.out ?? join('bench', 'results', `${stamp}-${environment.host}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    const svg = writePlot(report, values.svg ?? join('bench', 'results', 'sync-vs-services.svg'));
    process.stderr.write(`wrote ${out} and ${svg}\n`);
  }
  return interrupted ? 130 : runs.every((r) => r.status === 'ok') ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
    process.exit(2);
  },
);

/**
 * `npm run compare-modes`: the harness inside the VM lab, whose kernel has IPVS, so iptables,
 * nftables and IPVS are compared on one kernel in one run. The guest's writes vanish with it,
 * so the harness prints its JSON report on stdout and this side writes the table, the JSON and
 * the plot. TCG emulation is 10-50x slower than the host: compare VM figures only with VM figures.
 *   npm run compare-modes -- [--sizes 1000x10,100x100] [--modes ...] [--timeout 5400] [--out FILE] [--svg FILE]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { runInVm } from '../src/lab/vm/index.js';
import { REPORT_MARKER } from './report-marker.js';
import { renderReport } from './render-table.js';
import type { BenchReport } from './types.js';
import { writePlot } from './write-plot.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000x10,100x100' },
    modes: { type: 'string' },
    repeats: { type: 'string', default: '3' },
    'latency-samples': { type: 'string', default: '20' },
    'baseline-runs': { type: 'string', default: '1' },
    'step-timeout': { type: 'string', default: '900' },
    timeout: { type: 'string', default: '5400' },
    out: { type: 'string' },
    svg: { type: 'string', default: join('bench', 'results', 'compare-modes.svg') },
  },
});

/** The report line the guest's harness printed, if it got that far. */
export function extractReport(stdout: string): BenchReport | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(REPORT_MARKER));
  return line ? (JSON.parse(line.slice(REPORT_MARKER.length)) as BenchReport) : undefined;
}

async function main(): Promise<number> {
  const harness = ['node', 'dist/bench/main.js', '--no-write', '--report-stdout', '--sizes', values.sizes];
  if (values.modes) harness.push('--modes', values.modes);
  harness.push('--repeats', values.repeats, '--latency-samples', values['latency-samples'], '--baseline-runs', values['baseline-runs'], '--step-timeout', values['step-timeout']);
  const abort = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort.abort());
  process.stderr.write(`compare-modes: ${harness.join(' ')} in the VM lab\n`);
  const result = await runInVm({
    argv: harness,
    timeoutMs: Number(values.timeout) * 1000,
    // Progress lines live; the tables are re-rendered here from the report.
    onOutput: (text, stream) => void (stream === 'stderr' && process.stderr.write(text)),
    signal: abort.signal,
  });
  process.stderr.write(`vm: kernel ${result.kernelVersion}, boot ${(result.bootMs / 1000).toFixed(1)} s, total ${(result.durationMs / 1000).toFixed(1)} s, exit ${result.timedOut ? 'timeout' : (result.exitCode ?? result.signal)}\n`);
  const report = extractReport(result.stdout);
  if (!report) {
    process.stderr.write(`compare-modes: the guest printed no report${result.timedOut ? ' (timed out; raise --timeout or use smaller --sizes)' : ''}\n`);
    process.stdout.write(result.stdout);
    return 1;
  }
  const withCommand: BenchReport = { ...report, command: `npm run compare-modes -- ${process.argv.slice(2).join(' ')}`.trim() };
  process.stdout.write(renderReport(withCommand));
  const out = values.out ?? join('bench', 'results', `compare-modes-${report.environment.date.slice(0, 10)}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(withCommand, null, 2)}\n`);
  writePlot(withCommand, values.svg);
  process.stderr.write(`wrote ${out} and ${values.svg}\n`);
  return result.exitCode ?? 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`compare-modes: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(125);
  },
);

/** The report as markdown tables (pure): what the terminal shows and what the READMEs quote. */
import { sizeLabel } from './sizes.js';
import { ratio } from './stats.js';
import { MODE_LABELS, type BenchReport, type KernelCounts, type ModeRun, type StepName } from './types.js';

/** Milliseconds with as many decimals as are meaningful at that magnitude. */
export function fmtMs(ms: number | undefined): string {
  if (ms === undefined) return '–';
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

export function fmtCounts(k: KernelCounts | undefined): string {
  if (!k) return '–';
  return Object.entries(k)
    .map(([name, n]) => `${n} ${name}`)
    .join(', ');
}

const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
const total = (r: ModeRun, step: StepName): string => {
  const t = r.steps[step]?.totalMs;
  if (t !== undefined) return fmtMs(t);
  return r.status === 'ok' ? '–' : r.status === 'timeout' ? 'cut off' : r.status;
};
const split = (r: ModeRun, step: StepName): string => {
  const t = r.steps[step];
  return t ? `${fmtMs(t.generateMs)} / ${fmtMs(t.applyMs)}` : '–';
};

export function renderModeTable(runs: readonly ModeRun[]): string {
  const lines = [
    row(['workload', 'mode', 'first full sync', 'no-op', '1 endpoint', '+1 service', '1% churn', 'full resync', 'event→kernel p50 / p99', 'peak RSS MiB', 'peak heap MiB', 'kernel objects']),
    row(['---', '---', ...Array<string>(9).fill('---:'), '---']),
  ];
  for (const r of runs) {
    lines.push(
      row([
        sizeLabel(r.size),
        MODE_LABELS[r.mode],
        total(r, 'full'),
        total(r, 'noop'),
        total(r, 'oneEndpoint'),
        total(r, 'addService'),
        total(r, 'churn'),
        total(r, 'resync'),
        r.latency ? `${fmtMs(r.latency.p50Ms)} / ${fmtMs(r.latency.p99Ms)} (n=${r.latency.samples})` : '–',
        r.memory ? String(r.memory.peakRssMiB) : '–',
        r.memory ? String(r.memory.peakHeapUsedMiB) : '–',
        fmtCounts(r.kernel),
      ]),
    );
  }
  return lines.join('\n');
}

export function renderSplitTable(runs: readonly ModeRun[]): string {
  const lines = [
    row(['workload', 'mode', 'full: generate / apply', '1 endpoint', '+1 service', '1% churn', 'full resync', 'model (objects → snapshot)']),
    row(['---', '---', '---:', '---:', '---:', '---:', '---:', '---:']),
  ];
  for (const r of runs) {
    lines.push(row([sizeLabel(r.size), MODE_LABELS[r.mode], split(r, 'full'), split(r, 'oneEndpoint'), split(r, 'addService'), split(r, 'churn'), split(r, 'resync'), fmtMs(r.modelMs)]));
  }
  return lines.join('\n');
}

/** Every mode against the first measured one of the same size (the reference), same run. */
export function renderRatioTable(runs: readonly ModeRun[]): string {
  const lines = [row(['workload', 'mode', 'reference', 'first full sync', '1 endpoint', 'event→kernel p50']), row(['---', '---', '---', '---:', '---:', '---:'])];
  const bySize = new Map<string, ModeRun[]>();
  for (const r of runs) bySize.set(sizeLabel(r.size), [...(bySize.get(sizeLabel(r.size)) ?? []), r]);
  for (const [label, group] of bySize) {
    const ref = group.find((r) => r.status === 'ok');
    if (!ref) continue;
    for (const r of group) {
      if (r === ref) continue;
      lines.push(
        row([label, MODE_LABELS[r.mode], MODE_LABELS[ref.mode], ratio(r.steps.full?.totalMs, ref.steps.full?.totalMs), ratio(r.steps.oneEndpoint?.totalMs, ref.steps.oneEndpoint?.totalMs), ratio(r.latency?.p50Ms, ref.latency?.p50Ms)]),
      );
    }
  }
  return lines.join('\n');
}

export function renderNftBaselineTable(report: Pick<BenchReport, 'nftBaselines'>): string {
  const lines = [
    row(['workload', 'native batch (compile + encode + send)', 'nft -j -f (JSON)', 'nft -f (text)', 'pre-built batch (floor)', 'nft -j -f ÷ native', 'nft -f ÷ native', 'native ÷ floor', 'one-rule transaction', 'same kernel state']),
    row(['---', ...Array<string>(8).fill('---:'), '---']),
  ];
  for (const b of report.nftBaselines) {
    if (b.status !== 'ok') {
      lines.push(row([sizeLabel(b.size), `${b.status}: ${b.note ?? ''}`, '', '', '', '', '', '', '', '']));
      continue;
    }
    lines.push(
      row([
        sizeLabel(b.size),
        fmtMs(b.nativeMs),
        fmtMs(b.nftJsonMs),
        fmtMs(b.nftTextMs),
        fmtMs(b.floorMs),
        ratio(b.nftJsonMs, b.nativeMs),
        ratio(b.nftTextMs, b.nativeMs),
        ratio(b.nativeMs, b.floorMs),
        fmtMs(b.tinyTransactionMs),
        b.sameState ? 'yes' : 'NO',
      ]),
    );
  }
  return lines.join('\n');
}

/** Upstream's single iptables-restore against our phased restores, where both were measured. */
export function renderIptablesBaselineTable(runs: readonly ModeRun[]): string {
  const lines = [
    row(['workload', 'one restore (upstream): full', 'phased: full', 'upstream ÷ phased', 'one restore: 1 endpoint', 'phased: 1 endpoint']),
    row(['---', '---:', '---:', '---:', '---:', '---:']),
  ];
  for (const single of runs.filter((r) => r.mode === 'iptables')) {
    const phased = runs.find((r) => r.mode === 'iptables-phased' && sizeLabel(r.size) === sizeLabel(single.size));
    if (!phased) continue;
    lines.push(
      row([sizeLabel(single.size), total(single, 'full'), total(phased, 'full'), ratio(single.steps.full?.totalMs, phased.steps.full?.totalMs), total(single, 'oneEndpoint'), total(phased, 'oneEndpoint')]),
    );
  }
  return lines.length > 2 ? lines.join('\n') : '';
}

export function renderReport(report: BenchReport): string {
  const env = report.environment;
  const parts = [
    `# kube-proxy-ts sync benchmark, ${env.date}`,
    '',
    `Machine: ${env.host}${env.inVm ? ' (TCG-emulated VM lab)' : ''}, ${env.cpus} CPUs, kernel ${env.kernel}, node ${env.node}, ${env.iptablesBackend}, ${env.nftVersion}. Command: \`${report.command}\`.`,
    `All times in ms (wall time around Proxier.sync); "1 endpoint" is the median of ${report.options.repeats}; event→kernel over up to ${report.options.latencySamples} changes through the sync loop at minSyncPeriod 0.`,
    '',
    '## Sync time per mode',
    '',
    renderModeTable(report.runs),
    '',
    '## Generate / apply split (ms)',
    '',
    renderSplitTable(report.runs),
    '',
    '## Ratios (same run; higher is slower)',
    '',
    renderRatioTable(report.runs),
  ];
  const ipt = renderIptablesBaselineTable(report.runs);
  if (ipt) parts.push('', '## Baseline: iptables-restore as upstream runs it (one restore) vs phased restores', '', ipt);
  if (report.nftBaselines.length > 0) {
    parts.push('', '## Baseline: the same nftables ruleset through nft vs the native batch', '', renderNftBaselineTable(report));
  }
  const notes = [...report.notes, ...report.runs.filter((r) => r.note).map((r) => `${MODE_LABELS[r.mode]} ${sizeLabel(r.size)}: ${r.status}, ${r.note}`)];
  if (notes.length > 0) parts.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  return `${parts.join('\n')}\n`;
}

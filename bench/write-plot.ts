/** Writes the full-sync plot of a report to a file; returns the path. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fullSyncSeries, renderSvg } from './render-svg.js';
import type { BenchReport } from './types.js';

export function writePlot(report: BenchReport, path: string): string {
  const { series, endpointsPerService } = fullSyncSeries(report.runs);
  const env = report.environment;
  const svg = renderSvg(series, {
    title: `First full sync vs services (x${endpointsPerService ?? '?'} endpoints each)`,
    subtitle: `${env.inVm ? 'VM lab (TCG), ' : ''}${env.cpus} CPUs, kernel ${env.kernel}, node ${env.node}, ${env.iptablesBackend}, ${env.date.slice(0, 10)}`,
    xLabel: 'services',
    yLabel: 'first full sync (log scale)',
  });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, svg);
  return path;
}

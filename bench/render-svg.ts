/**
 * The plot, written by hand (no plotting library): full sync time against the number of
 * services, one polyline per mode/applier, y on a log scale since the modes differ by orders of
 * magnitude. Pure: data in, SVG text out.
 */
import { MODE_LABELS, type ModeRun } from './types.js';

export interface Point {
  readonly x: number;
  readonly y: number;
}
export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
}
export interface PlotOptions {
  readonly title: string;
  /** A smaller second line under the title (machine, date). */
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
}

const WIDTH = 760;
const HEIGHT = 440;
const M = { left: 72, right: 250, top: 50, bottom: 56 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "5 ms", "1 s", "10 s": labels for powers of ten of milliseconds. */
export function msLabel(ms: number): string {
  if (ms >= 1000) return `${+(ms / 1000).toPrecision(3)} s`;
  return `${+ms.toPrecision(3)} ms`;
}

/** Decades that enclose [min, max] (at least one decade). */
export function logRange(min: number, max: number): [number, number] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
  return [lo, hi];
}

/** A round upper bound for a linear axis and its tick step. */
export function niceMax(max: number): { max: number; step: number } {
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw)!;
  return { max: Math.ceil(max / step) * step, step };
}

export function renderSvg(series: readonly Series[], opts: PlotOptions): string {
  const all = series.flatMap((s) => s.points).filter((p) => p.y > 0);
  const plotW = WIDTH - M.left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${M.left}" y="20" font-size="15" font-weight="bold">${escapeXml(opts.title)}</text>`,
  ];
  if (opts.subtitle) out.push(`<text x="${M.left}" y="36" font-size="11" fill="#555">${escapeXml(opts.subtitle)}</text>`);
  if (all.length === 0) {
    out.push(`<text x="${M.left}" y="${M.top + 20}">no data</text>`, '</svg>');
    return `${out.join('\n')}\n`;
  }
  const { max: xMax, step: xStep } = niceMax(Math.max(...all.map((p) => p.x)));
  const [d0, d1] = logRange(Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y)));
  const sx = (x: number): number => M.left + (x / xMax) * plotW;
  const sy = (y: number): number => M.top + plotH - ((Math.log10(y) - d0) / (d1 - d0)) * plotH;
  const f = (n: number): string => n.toFixed(1);

  // Grid and axes: a line per decade on y, per step on x.
  for (let d = d0; d <= d1; d++) {
    const y = sy(10 ** d);
    out.push(`<line x1="${M.left}" y1="${f(y)}" x2="${M.left + plotW}" y2="${f(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${f(y + 4)}" text-anchor="end">${escapeXml(msLabel(10 ** d))}</text>`);
  }
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    out.push(`<line x1="${f(sx(x))}" y1="${M.top + plotH}" x2="${f(sx(x))}" y2="${M.top + plotH + 5}" stroke="#333"/>`);
    out.push(`<text x="${f(sx(x))}" y="${M.top + plotH + 19}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${M.left}" y1="${M.top + plotH}" x2="${M.left + plotW}" y2="${M.top + plotH}" stroke="#333"/>`);
  out.push(`<text x="${M.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(opts.yLabel)}</text>`);

  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = [...s.points].filter((p) => p.y > 0).sort((a, b) => a.x - b.x);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3" fill="${color}"/>`);
    const ly = M.top + 10 + i * 20;
    const lx = M.left + plotW + 16;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 28}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The full-sync series: the sizes with the most common endpoints-per-service, one line per mode. */
export function fullSyncSeries(runs: readonly ModeRun[]): { series: Series[]; endpointsPerService: number | undefined } {
  const counts = new Map<number, number>();
  for (const r of runs) counts.set(r.size.endpointsPerService, (counts.get(r.size.endpointsPerService) ?? 0) + 1);
  const eps = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  const byMode = new Map<string, Point[]>();
  for (const r of runs) {
    const t = r.steps.full?.totalMs;
    if (r.size.endpointsPerService !== eps || t === undefined) continue;
    const name = MODE_LABELS[r.mode];
    byMode.set(name, [...(byMode.get(name) ?? []), { x: r.size.services, y: t }]);
  }
  return { series: [...byMode].map(([name, points]) => ({ name, points })), endpointsPerService: eps };
}

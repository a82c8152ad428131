import type { Sample } from './prom-text.js';

/** A Prometheus histogram summed over the series selected: cumulative bucket counts by upper bound. */
export interface Histogram {
  /** Upper bounds in ascending order, the last one +Inf. */
  readonly bounds: readonly number[];
  /** Cumulative counts, one per bound. */
  readonly cumulative: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export const EMPTY_HISTOGRAM: Histogram = { bounds: [Infinity], cumulative: [0], sum: 0, count: 0 };

/**
 * The histogram `name` from parsed samples. Dual-stack proxies observe some histograms once per
 * family; `preferLabels` (e.g. ip_family=IPv4) keeps one family when the series carry that label.
 */
export function histogramOf(samples: readonly Sample[], name: string, preferLabels: Record<string, string> = {}): Histogram {
  let series = samples.filter((s) => s.name === `${name}_bucket` || s.name === `${name}_sum` || s.name === `${name}_count`);
  for (const [k, v] of Object.entries(preferLabels)) {
    if (series.some((s) => k in s.labels)) series = series.filter((s) => s.labels[k] === v);
  }
  const byBound = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const s of series) {
    if (s.name.endsWith('_bucket')) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      if (!Number.isNaN(le)) byBound.set(le, (byBound.get(le) ?? 0) + s.value);
    } else if (s.name.endsWith('_sum')) sum += s.value;
    else count += s.value;
  }
  if (byBound.size === 0) return EMPTY_HISTOGRAM;
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  return { bounds, cumulative: bounds.map((b) => byBound.get(b)!), sum, count };
}

/** What was observed between two scrapes of the same histogram (a restarted proxy resets to 0). */
export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  const reset = after.count < before.count;
  const base = (b: number): number => {
    if (reset) return 0;
    const i = before.bounds.indexOf(b);
    return i >= 0 ? before.cumulative[i]! : 0;
  };
  return {
    bounds: after.bounds,
    cumulative: after.bounds.map((b, i) => Math.max(0, after.cumulative[i]! - base(b))),
    sum: reset ? after.sum : after.sum - before.sum,
    count: reset ? after.count : after.count - before.count,
  };
}

/** Adds histograms with the same buckets (several nodes into one). */
export function histogramSum(list: readonly Histogram[]): Histogram {
  const byBound = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const h of list) {
    h.bounds.forEach((b, i) => byBound.set(b, (byBound.get(b) ?? 0) + h.cumulative[i]!));
    sum += h.sum;
    count += h.count;
  }
  if (byBound.size === 0) return EMPTY_HISTOGRAM;
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  return { bounds, cumulative: bounds.map((b) => byBound.get(b)!), sum, count };
}

/**
 * The q-quantile as Prometheus' histogram_quantile estimates it: linear inside the bucket that
 * holds the rank; the lowest bucket starts at 0; a rank in the +Inf bucket answers the highest
 * finite bound. undefined when nothing was observed.
 */
export function histogramQuantile(h: Histogram, q: number): number | undefined {
  const total = h.cumulative.at(-1) ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  const i = h.cumulative.findIndex((c) => c >= rank);
  const upper = h.bounds[i]!;
  const lower = i === 0 ? 0 : h.bounds[i - 1]!;
  if (upper === Infinity) return lower;
  const below = i === 0 ? 0 : h.cumulative[i - 1]!;
  const inBucket = h.cumulative[i]! - below;
  return inBucket === 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
}

export function histogramMean(h: Histogram): number | undefined {
  return h.count > 0 ? h.sum / h.count : undefined;
}

/** Tallies of probe results: where traffic landed, which source the backends saw, how it failed. */
import type { ProbeError, ProbeResult } from './agent-protocol.js';

/** Answers per pod name; failures and non-backend answers are not counted. */
export function countByPod(results: readonly ProbeResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) if (r.ok && r.pod !== undefined) counts[r.pod] = (counts[r.pod] ?? 0) + 1;
  return counts;
}

export interface ResultSummary {
  total: number;
  ok: number;
  failed: number;
  byPod: Record<string, number>;
  /** Source address (without port) the backends saw, e.g. the node IP when masqueraded. */
  byClientIp: Record<string, number>;
  byError: Partial<Record<ProbeError, number>>;
  /** Slowest single request, in ms. */
  maxMs: number;
}

export function summarize(results: readonly ProbeResult[]): ResultSummary {
  const s: ResultSummary = { total: results.length, ok: 0, failed: 0, byPod: countByPod(results), byClientIp: {}, byError: {}, maxMs: 0 };
  for (const r of results) {
    s.maxMs = Math.max(s.maxMs, r.ms);
    if (r.ok) {
      s.ok += 1;
      if (r.clientIp !== undefined) s.byClientIp[r.clientIp] = (s.byClientIp[r.clientIp] ?? 0) + 1;
    } else {
      s.failed += 1;
      s.byError[r.error] = (s.byError[r.error] ?? 0) + 1;
    }
  }
  return s;
}

/** One line for logs and assertion messages: "300 sent: web-1 104, web-2 98, web-3 98". */
export function describeResults(results: readonly ProbeResult[]): string {
  const s = summarize(results);
  const parts = [
    ...Object.entries(s.byPod)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([pod, n]) => `${pod} ${n}`),
    ...Object.entries(s.byError).map(([e, n]) => `${e} ${n}`),
  ];
  const other = s.ok - Object.values(s.byPod).reduce((a, b) => a + b, 0);
  if (other > 0) parts.push(`non-backend answers ${other}`);
  return `${s.total} sent: ${parts.join(', ') || 'nothing'}`;
}

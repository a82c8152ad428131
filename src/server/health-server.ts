import type { IncomingMessage, ServerResponse } from 'node:http';
import { PathServer, sendJSON } from './http.js';
import type { HealthStatus, ProxyHealth } from './proxy-health.js';
import type { ProxyMetrics } from './metrics.js';

export interface HealthServerOptions {
  readonly bindAddress: string;
  readonly health: ProxyHealth;
  /** False when the Node is unknown, being deleted, or tainted for autoscaler removal. */
  readonly nodeEligible: () => boolean;
  readonly metrics?: ProxyMetrics;
}

/** A time as Go's encoding/json writes a time.Time (RFC 3339, fraction without trailing zeros). */
export function goTime(ms: number): string {
  if (ms === 0) return '0001-01-01T00:00:00Z';
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'));
}

/**
 * Upstream's JSON body (v1.31+): lastUpdated is "now" when healthy (older releases reported the
 * last sync loop run, and clients read a recent value as healthy), the per-family status, and
 * nodeEligible on /healthz only.
 */
export function healthBody(status: HealthStatus, nodeEligible?: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    lastUpdated: goTime(status.healthy ? status.currentTime : status.lastUpdated),
    currentTime: goTime(status.currentTime),
  };
  if (nodeEligible !== undefined) body.nodeEligible = nodeEligible;
  body.healthy = status.healthy;
  if (status.families.size > 0) {
    const perFamily: Record<string, unknown> = {};
    for (const [family, f] of status.families) perFamily[family] = { lastUpdated: goTime(f.lastUpdated), healthy: f.healthy };
    body.status = perFamily;
  }
  return body;
}

/**
 * /healthz and /livez on healthzBindAddress (default 0.0.0.0:10256), upstream's semantics:
 * /healthz is 503 when syncs are stalled or the node is not eligible; /livez ignores the node.
 */
export class HealthServer extends PathServer {
  constructor(private readonly opts: HealthServerOptions) {
    super(opts.bindAddress);
  }

  protected route(path: string, _req: IncomingMessage, res: ServerResponse): boolean {
    if (path === '/livez') {
      const status = this.opts.health.status();
      const code = status.healthy ? 200 : 503;
      this.opts.metrics?.livezTotal.inc({ code: String(code) });
      sendJSON(res, code, healthBody(status));
      return true;
    }
    if (path === '/healthz' || path === '/') {
      const status = this.opts.health.status();
      const nodeEligible = this.opts.nodeEligible();
      const code = status.healthy && nodeEligible ? 200 : 503;
      this.opts.metrics?.healthzTotal.inc({ code: String(code) });
      sendJSON(res, code, healthBody(status, nodeEligible));
      return true;
    }
    return false;
  }
}

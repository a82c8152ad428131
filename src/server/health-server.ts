import type { Server } from 'node:http';
import { close, listen, sendJSON, splitHostPort } from './http.js';
import type { ProxyHealth } from './proxy-health.js';
import type { ProxyMetrics } from './metrics.js';

export interface HealthServerOptions {
  readonly bindAddress: string;
  readonly health: ProxyHealth;
  /** False when the Node is unknown, being deleted, or tainted for autoscaler removal. */
  readonly nodeEligible: () => boolean;
  readonly metrics?: ProxyMetrics;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * /healthz and /livez on healthzBindAddress (default 0.0.0.0:10256), upstream's semantics:
 * /healthz is 503 when syncs are stalled or the node is not eligible; /livez ignores the node.
 */
export class HealthServer {
  private server: Server | undefined;

  constructor(private readonly opts: HealthServerOptions) {}

  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.opts.bindAddress);
    this.server = await listen((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const status = this.opts.health.status();
      if (path === '/livez') {
        const code = status.healthy ? 200 : 503;
        this.opts.metrics?.livezTotal.inc({ code: String(code) });
        sendJSON(res, code, { lastUpdated: iso(status.lastUpdated), currentTime: iso(status.currentTime) });
        return;
      }
      if (path === '/healthz' || path === '/') {
        const nodeEligible = this.opts.nodeEligible();
        const code = status.healthy && nodeEligible ? 200 : 503;
        this.opts.metrics?.healthzTotal.inc({ code: String(code) });
        sendJSON(res, code, { lastUpdated: iso(status.lastUpdated), currentTime: iso(status.currentTime), nodeEligible });
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found\n');
    }, host, port);
  }

  address(): { port: number } | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { port: a.port } : undefined;
  }

  stop(): Promise<void> {
    return close(this.server);
  }
}

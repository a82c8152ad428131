import type { IncomingMessage, ServerResponse } from 'node:http';
import { PathServer, sendJSON } from './http.js';
import type { ProxyMetrics } from './metrics.js';

export interface MetricsServerOptions {
  readonly bindAddress: string;
  readonly metrics: ProxyMetrics;
  readonly proxyMode: string;
  /** The effective configuration, served on /configz. */
  readonly configz: () => unknown;
}

/** /metrics, /healthz ("ok"), /proxyMode and /configz on metricsBindAddress (default 127.0.0.1:10249). */
export class MetricsServer extends PathServer {
  constructor(private readonly opts: MetricsServerOptions) {
    super(opts.bindAddress);
  }

  protected async route(path: string, _req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (path === '/metrics') {
      const body = await this.opts.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': this.opts.metrics.registry.contentType });
      res.end(body);
    } else if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    } else if (path === '/proxyMode') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end(this.opts.proxyMode);
    } else if (path === '/configz') {
      // component-base configz: one entry per registered component, keyed by its API group.
      sendJSON(res, 200, { 'kubeproxy.config.k8s.io': this.opts.configz() });
    } else {
      return false;
    }
    return true;
  }
}

import type { Server } from 'node:http';
import type { Logger } from '../util/log.js';
import { close, listen, sendJSON } from './http.js';

/** A service that needs a health-check node port: LoadBalancer with externalTrafficPolicy Local. */
export interface HealthCheckService {
  /** `ns/name`. */
  readonly name: string;
  readonly port: number;
}

interface Listener {
  readonly port: number;
  readonly servers: Server[];
  service: string;
  localEndpoints: number;
}

/**
 * Per-service health-check node port servers (upstream's ServiceHealthServer): any path answers
 * 200 when the service has local ready endpoints and the proxy is healthy, else 503, with
 * `X-Load-Balancing-Endpoint-Weight` so load balancers can weight nodes.
 */
export class ServiceHealthServer {
  private readonly listeners = new Map<number, Listener>();

  constructor(
    /** Where to listen: the nodePortAddresses IPs, or ['0.0.0.0'] / ['::'] when they match all. */
    private readonly addresses: () => readonly string[],
    private readonly proxyHealthy: () => boolean,
    private readonly log: Logger,
  ) {}

  /** Opens listeners for new health-check ports, closes those no longer needed, updates counts. */
  async sync(services: readonly HealthCheckService[], localEndpoints: ReadonlyMap<string, number>): Promise<void> {
    const wanted = new Map(services.map((s) => [s.port, s.name]));
    for (const [port, l] of this.listeners) {
      if (wanted.has(port)) continue;
      this.listeners.delete(port);
      await Promise.all(l.servers.map((s) => close(s)));
    }
    for (const [port, name] of wanted) {
      let l = this.listeners.get(port);
      if (!l) {
        l = { port, servers: [], service: name, localEndpoints: 0 };
        const entry = l;
        for (const host of this.addresses()) {
          try {
            entry.servers.push(await listen((_req, res) => this.answer(entry, res), host, port));
          } catch (err) {
            this.log.error({ err: String(err), service: name, port, host }, 'FailedToStartServiceHealthcheck');
          }
        }
        this.listeners.set(port, l);
      }
      l.service = name;
      l.localEndpoints = localEndpoints.get(name) ?? 0;
    }
  }

  async stop(): Promise<void> {
    for (const l of this.listeners.values()) await Promise.all(l.servers.map((s) => close(s)));
    this.listeners.clear();
  }

  private answer(l: Listener, res: Parameters<Parameters<typeof listen>[0]>[1]): void {
    const healthy = this.proxyHealthy();
    const [namespace, name] = l.service.split('/') as [string, string];
    const code = l.localEndpoints > 0 && healthy ? 200 : 503;
    sendJSON(
      res,
      code,
      { service: { namespace, name }, localEndpoints: l.localEndpoints, serviceProxyHealthy: healthy },
      { 'X-Load-Balancing-Endpoint-Weight': String(l.localEndpoints) },
    );
  }
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Splits "ip:port" / "[ip]:port" into host and port. */
export function splitHostPort(hostPort: string): { host: string; port: number } {
  const m = hostPort.match(/^(?:\[([^\]]+)\]|(.*)):(\d+)$/);
  if (!m) throw new Error(`${JSON.stringify(hostPort)} is not host:port`);
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}

/** Starts an HTTP server; resolves once it listens, rejects when it cannot bind. */
export function listen(handler: Handler, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`internal error: ${String(err)}\n`);
    });
  });
  // Probes and scrapers hold no long connections; do not let them keep the process alive.
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: host === '' ? undefined : host, port }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function close(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export function sendJSON(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * A server on one bind address whose routes are plain paths: `route` answers a path it knows and
 * returns false for the rest, which get Go's net/http 404 (what upstream's muxes send).
 */
export abstract class PathServer {
  private server: Server | undefined;

  protected constructor(private readonly bindAddress: string) {}

  protected abstract route(path: string, req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;

  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.bindAddress);
    this.server = await listen(async (req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (await this.route(path, req, res)) return;
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

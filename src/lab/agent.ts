/**
 * The agent the lab runs in each namespace it sends traffic from or to (`node agent.ts --name web-1`).
 * It is the pod's backend (HTTP and UDP servers answering with the pod name and the client address
 * they saw) and the traffic generator (many requests per command, each on a new connection or
 * socket). The lab drives it with JSON lines on stdin/stdout (agent-protocol.ts); it exits when
 * stdin closes, so it never outlives the lab.
 *
 * One long-lived process per namespace instead of a `curl` per request: in an emulated VM every
 * process start costs ~0.4 s, here it costs once.
 *
 * Kept to Node built-ins and erasable TypeScript so Node 24 runs it straight from source (under tap)
 * as well as compiled from dist.
 */
import { writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { isIPv6 } from 'node:net';
import type {
  AgentMessage,
  AgentRequest,
  BackendAnswer,
  HttpProbeSpec,
  HttpResult,
  ProbeError,
  ProbeFailure,
  ProbeSpec,
  UdpResult,
} from './agent-protocol.js';

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const podName = argValue('--name') ?? 'agent';

/**
 * `--sysctl key=value` (repeatable): namespace settings the lab wants, written here because this
 * process already runs in the namespace; a `sysctl` process per pod would cost a spawn each.
 */
for (let i = 0; i < process.argv.length; i++) {
  if (process.argv[i] !== '--sysctl') continue;
  const [key = '', value = ''] = (process.argv[i + 1] ?? '').split('=');
  writeFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, value);
}

function send(message: AgentMessage): void {
  process.stdout.write(JSON.stringify(message) + '\n');
}

/** A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; tests compare plain addresses. */
function plainIp(ip: string | undefined): string {
  if (!ip) return '?';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice('::ffff:'.length) : ip;
}

function hostPort(ip: string, port: number | undefined): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

// ---------------------------------------------------------------------------------------------
// Backend

let tcpServers: Server[] = [];
let udpSockets: UdpSocket[] = [];

function answerHttp(server: Server): void {
  server.on('request', (req, res) => {
    const answer: BackendAnswer = {
      pod: podName,
      client: hostPort(plainIp(req.socket.remoteAddress), req.socket.remotePort),
      local: hostPort(plainIp(req.socket.localAddress), req.socket.localPort),
      protocol: 'tcp',
    };
    const body = JSON.stringify(answer) + '\n';
    // "?delay=ms" holds the answer back: lets a test keep connections open across a change.
    const delay = Number(new URL(req.url ?? '/', 'http://backend').searchParams.get('delay') ?? 0) || 0;
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
    }, delay);
  });
}

function listenTcp(port: number): Promise<Server> {
  const attempt = (host: string): Promise<Server> =>
    new Promise((resolve, reject) => {
      const server = createServer();
      answerHttp(server);
      server.once('error', reject);
      server.listen({ port, host, ipv6Only: false }, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  // "::" takes both families; a kernel without IPv6 only has 0.0.0.0.
  return attempt('::').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL') return attempt('0.0.0.0');
    throw e;
  });
}

function listenUdp(port: number): Promise<UdpSocket> {
  const attempt = (type: 'udp4' | 'udp6'): Promise<UdpSocket> =>
    new Promise((resolve, reject) => {
      const socket = createSocket({ type, ipv6Only: false });
      socket.on('message', (_msg, peer) => {
        const answer: BackendAnswer = {
          pod: podName,
          client: hostPort(plainIp(peer.address), peer.port),
          local: hostPort(type === 'udp6' ? '::' : '0.0.0.0', port),
          protocol: 'udp',
        };
        socket.send(Buffer.from(JSON.stringify(answer) + '\n'), peer.port, peer.address);
      });
      socket.once('error', reject);
      socket.bind({ port, address: type === 'udp6' ? '::' : '0.0.0.0' }, () => {
        socket.off('error', reject);
        // A reply to a client that went away must not kill the backend.
        socket.on('error', () => {});
        resolve(socket);
      });
    });
  return attempt('udp6').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EAFNOSUPPORT' || e.code === 'EADDRNOTAVAIL') return attempt('udp4');
    throw e;
  });
}

async function stopServing(): Promise<void> {
  const servers = tcpServers;
  const sockets = udpSockets;
  tcpServers = [];
  udpSockets = [];
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          // Open connections would otherwise keep answering after the "pod" went away.
          s.closeAllConnections();
        }),
    ),
  );
  for (const s of sockets) s.close();
}

async function serve(tcpPorts: number[], udpPorts: number[]): Promise<void> {
  await stopServing();
  try {
    tcpServers = await Promise.all(tcpPorts.map(listenTcp));
    udpSockets = await Promise.all(udpPorts.map(listenUdp));
  } catch (e) {
    await stopServing();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Probes

function classify(code: string | undefined): ProbeError {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return 'error';
  }
}

function parseAnswer(text: string): BackendAnswer | undefined {
  try {
    const v = JSON.parse(text) as Partial<BackendAnswer>;
    return typeof v.pod === 'string' && typeof v.client === 'string' ? (v as BackendAnswer) : undefined;
  } catch {
    return undefined;
  }
}

function answerFields(answer: BackendAnswer): { pod: string; client: string; clientIp: string; clientPort: number; local: string } {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(answer.client);
  return {
    pod: answer.pod,
    client: answer.client,
    clientIp: m?.[1] ?? answer.client,
    clientPort: Number(m?.[2] ?? 0),
    local: answer.local,
  };
}

function httpOnce(spec: HttpProbeSpec): Promise<HttpResult> {
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  return new Promise((resolve) => {
    let done = false;
    let connected = false;
    const finish = (result: HttpResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const fail = (error: ProbeError, message: string, code?: string): void => {
      const failure: ProbeFailure = { ok: false, error, message, phase: connected ? 'response' : 'connect', ms: ms() };
      if (code) failure.code = code;
      finish(failure);
    };
    const req = request({
      host: spec.host,
      port: spec.port,
      path: spec.path,
      // A fresh connection per request: keep-alive would pin every request to one backend.
      agent: false,
      headers: { connection: 'close' },
      ...(spec.sourceAddress ? { localAddress: spec.sourceAddress } : {}),
    });
    req.on('socket', (socket) => socket.once('connect', () => (connected = true)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e: NodeJS.ErrnoException) => fail(classify(e.code), e.message, e.code));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const answer = parseAnswer(body);
        finish(
          answer
            ? { ok: true, status: res.statusCode ?? 0, ...answerFields(answer), ms: ms() }
            : { ok: true, status: res.statusCode ?? 0, body, ms: ms() },
        );
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => fail(classify(e.code), e.message, e.code));
    const timer = setTimeout(() => fail('timeout', `no answer within ${spec.timeoutMs} ms`), spec.timeoutMs);
    req.end();
  });
}

function udpOnce(spec: ProbeSpec): Promise<UdpResult> {
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(spec.host) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (result: UdpResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // Closed already.
      }
      resolve(result);
    };
    const fail = (error: ProbeError, message: string, code?: string): void => {
      const failure: ProbeFailure = { ok: false, error, message, ms: ms() };
      if (code) failure.code = code;
      finish(failure);
    };
    // On a connected UDP socket the kernel turns an ICMP port unreachable into ECONNREFUSED.
    socket.on('error', (e: NodeJS.ErrnoException) => fail(classify(e.code), e.message, e.code));
    socket.on('message', (msg) => {
      const answer = parseAnswer(msg.toString('utf8'));
      if (answer) finish({ ok: true, ...answerFields(answer), ms: ms() });
      else fail('error', `unexpected datagram: ${msg.toString('utf8').slice(0, 200)}`);
    });
    const timer = setTimeout(() => fail('timeout', `no answer within ${spec.timeoutMs} ms`), spec.timeoutMs);
    const start = (): void => {
      try {
        socket.connect(spec.port, spec.host, () => socket.send(Buffer.from('lab probe\n')));
      } catch (e) {
        fail('error', (e as Error).message);
      }
    };
    try {
      if (spec.sourceAddress) socket.bind({ address: spec.sourceAddress, port: 0 }, start);
      else start();
    } catch (e) {
      fail('error', (e as Error).message);
    }
  });
}

async function repeat<T>(count: number, concurrency: number, one: () => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await one();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  return results;
}

// ---------------------------------------------------------------------------------------------
// Command loop

async function handle(req: AgentRequest): Promise<unknown> {
  switch (req.op) {
    case 'serve':
      await serve(req.tcpPorts, req.udpPorts);
      return { tcpPorts: req.tcpPorts, udpPorts: req.udpPorts };
    case 'stop':
      await stopServing();
      return {};
    case 'http':
      return repeat(req.probe.count, req.probe.concurrency, () => httpOnce(req.probe));
    case 'udp':
      return repeat(req.probe.count, req.probe.concurrency, () => udpOnce(req.probe));
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let req: AgentRequest;
  try {
    req = JSON.parse(line) as AgentRequest;
  } catch {
    process.stderr.write(`agent: not JSON: ${line}\n`);
    return;
  }
  handle(req).then(
    (result) => send({ id: req.id, ok: true, result }),
    (e: Error) => send({ id: req.id, ok: false, error: e.message }),
  );
});
// The lab is gone (or is done with us): nothing may outlive it.
lines.on('close', () => process.exit(0));
send({ event: 'ready', pid: process.pid });

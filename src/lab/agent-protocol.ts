/**
 * The JSON-lines protocol between the lab and the agent it runs in each namespace (agent.ts).
 * Types only: agent.ts imports it with `import type`, which keeps the agent runnable by Node's
 * type stripping straight from source.
 */

/** How a request failed. refused = RST / ICMP port unreachable (REJECT); timeout = no answer (DROP). */
export type ProbeError = 'refused' | 'timeout' | 'reset' | 'unreachable' | 'error';

export interface ProbeFailure {
  ok: false;
  error: ProbeError;
  /** The errno name when the kernel gave one (ECONNREFUSED, EHOSTUNREACH…). */
  code?: string;
  message: string;
  /** For TCP timeouts and resets: before or after the connection was established. */
  phase?: 'connect' | 'response';
  ms: number;
}

export interface ProbeAnswer {
  ok: true;
  /** The answering backend's pod name; undefined when something else answered (a health check…). */
  pod?: string;
  /** "ip:port" the backend saw as the source of the request. */
  client?: string;
  clientIp?: string;
  clientPort?: number;
  /** "ip:port" the request arrived at, as the backend saw it (after any DNAT). */
  local?: string;
  ms: number;
}

export interface HttpAnswer extends ProbeAnswer {
  status: number;
  /** The body, when it was not a lab backend answer. */
  body?: string;
}

export type HttpResult = HttpAnswer | ProbeFailure;
export type UdpResult = ProbeAnswer | ProbeFailure;
export type ProbeResult = HttpResult | UdpResult;

/** What a backend answers with, on HTTP (body) and UDP (datagram). */
export interface BackendAnswer {
  pod: string;
  client: string;
  local: string;
  protocol: 'tcp' | 'udp';
}

export interface ProbeSpec {
  host: string;
  port: number;
  count: number;
  /** Requests in flight at once. Each request uses a new connection / socket, so each is balanced anew. */
  concurrency: number;
  timeoutMs: number;
  sourceAddress?: string;
}

export interface HttpProbeSpec extends ProbeSpec {
  path: string;
}

export type AgentRequest =
  | { id: number; op: 'serve'; tcpPorts: number[]; udpPorts: number[] }
  | { id: number; op: 'stop' }
  | { id: number; op: 'http'; probe: HttpProbeSpec }
  | { id: number; op: 'udp'; probe: ProbeSpec };

export type AgentMessage =
  | { event: 'ready'; pid: number }
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pollUntil } from './poll.js';

/**
 * A bare HTTP(S) client for wire-level assertions (status codes, chunked watch lines, truncated
 * bodies) that client-node would hide. It trusts the server's CA and sends its token.
 */

export interface RawTarget {
  url: string;
  caPem?: string | undefined;
  token?: string | undefined;
}

export interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function send(target: RawTarget, method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<IncomingMessage> {
  const url = new URL(path, target.url);
  const allHeaders: Record<string, string> = { Accept: 'application/json', ...headers };
  if (target.token !== undefined) allHeaders.Authorization = `Bearer ${target.token}`;
  if (body !== undefined) allHeaders['Content-Length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const options = { method, headers: allHeaders, agent: false as const, ...(target.caPem ? { ca: target.caPem } : {}) };
    const req = url.protocol === 'https:' ? httpsRequest(url, options, resolve) : httpRequest(url, options, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

export async function rawRequest(target: RawTarget, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const response = await send(target, method, path, text, text !== undefined ? { 'Content-Type': 'application/json', ...headers } : headers);
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') };
}

export interface RawWatchEvent {
  type: string;
  object: { kind?: string; metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> }; code?: number; reason?: string; [k: string]: unknown };
}

/** An open watch request: its status, the parsed event lines, and how it ended. */
export class RawWatch {
  status = 0;
  headers: IncomingMessage['headers'] = {};
  readonly events: RawWatchEvent[] = [];
  /** Text after the last newline when the stream ended (a truncated event). */
  partialLine = '';
  /** 'end' for a proper end of the chunked body, 'error' for a reset/truncation. */
  outcome: 'open' | 'end' | 'error' = 'open';
  errorMessage: string | undefined;
  body = '';
  private response: IncomingMessage | undefined;

  static async open(target: RawTarget, path: string): Promise<RawWatch> {
    const watch = new RawWatch();
    const response = await send(target, 'GET', path, undefined, {});
    watch.attach(response);
    return watch;
  }

  private attach(response: IncomingMessage): void {
    this.response = response;
    this.status = response.statusCode ?? 0;
    this.headers = response.headers;
    let buffer = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.body += chunk;
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim() !== '') this.events.push(JSON.parse(line) as RawWatchEvent);
      }
    });
    response.on('end', () => {
      this.partialLine = buffer;
      this.outcome = 'end';
    });
    response.on('error', (error) => {
      this.partialLine = buffer;
      this.outcome = 'error';
      this.errorMessage = error.message;
    });
    response.on('aborted', () => {
      this.partialLine = buffer;
      this.outcome = 'error';
    });
  }

  waitForEvents(count: number, timeoutMs = 5000): Promise<RawWatchEvent[]> {
    return pollUntil(() => (this.events.length >= count ? this.events : undefined), timeoutMs, `${count} watch events (have ${this.events.length})`);
  }

  waitForEnd(timeoutMs = 5000): Promise<'end' | 'error'> {
    return pollUntil(() => (this.outcome === 'open' ? undefined : this.outcome), timeoutMs, 'the end of the watch stream');
  }

  close(): void {
    this.response?.destroy();
  }

  /** "TYPE name@rv" strings, for compact assertions. */
  summary(): string[] {
    return this.events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}@${e.object.metadata?.resourceVersion ?? ''}`.trim());
  }
}

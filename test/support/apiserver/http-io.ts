import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, statusBody } from './status.js';

/** Reading request bodies and writing JSON/Status responses. */

const MAX_BODY_BYTES = 3 * 1024 * 1024; // the real server's limit for a request body

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(statusBody(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const text = await readBody(request);
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`error decoding request body: ${(error as Error).message}`);
  }
}

export function sendJson(response: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  response.end(text);
}

export function sendError(response: ServerResponse, error: ApiError): void {
  sendJson(response, error.code, error.status, error.headers);
}

/** Sends half of a JSON body, then kills the connection: a response cut off mid-message. */
export function sendHalfAndDestroy(response: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
  const socket = response.socket;
  response.write(text.slice(0, Math.max(1, Math.floor(text.length / 2))), () => {
    socket?.destroy();
    response.destroy();
  });
}

export function sendText(response: ServerResponse, code: number, text: string): void {
  response.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) });
  response.end(text);
}

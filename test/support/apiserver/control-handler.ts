import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTROL_OPERATIONS, type ApiServerControl, type ControlOperation } from './control-api.js';
import { readJsonBody, sendJson } from './http-io.js';
import { ApiError } from './status.js';

/**
 * The control socket's HTTP handler: `POST /control/<operation>` with a JSON array of arguments,
 * answered with `{ "result": ... }` or `{ "error": { "message", "status"? } }`. It lets a test
 * drive a server that runs in another process (inside a network namespace).
 */

function isOperation(name: string): name is ControlOperation {
  return (CONTROL_OPERATIONS as readonly string[]).includes(name);
}

export function createControlHandler(control: ApiServerControl): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    void (async () => {
      const match = /^\/control\/([A-Za-z]+)$/.exec(request.url ?? '');
      const operation = match?.[1] ?? '';
      if (request.method !== 'POST' || !isOperation(operation)) {
        return sendJson(response, 404, { error: { message: `unknown control operation ${request.method ?? ''} ${request.url ?? ''}` } });
      }
      try {
        const args = ((await readJsonBody(request)) ?? []) as unknown[];
        const method = control[operation] as (...a: unknown[]) => Promise<unknown>;
        const result = await method.apply(control, args);
        sendJson(response, 200, { result: result ?? null });
      } catch (error) {
        const status = error instanceof ApiError ? error.status : undefined;
        sendJson(response, 200, { error: { message: (error as Error).message, ...(status ? { status } : {}) } });
      }
    })();
  };
}

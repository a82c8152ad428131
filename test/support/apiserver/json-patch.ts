import { ApiError, badRequest, statusBody } from './status.js';

/**
 * RFC 6902 JSON patch. client-node 2.0.1's generated `patch*` methods send
 * `application/json-patch+json` unless told otherwise, so plain patch calls arrive in this format.
 */

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function patchFailed(message: string): ApiError {
  return new ApiError(statusBody(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`));
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw patchFailed(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function resolveParent(doc: unknown, tokens: string[], pointer: string): { parent: Container; key: string } {
  let current = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(current)) current = current[Number(token)];
    else if (current !== null && typeof current === 'object') current = (current as Record<string, unknown>)[token];
    else current = undefined;
    if (current === undefined) throw patchFailed(`path "${pointer}" does not exist`);
  }
  if (current === null || typeof current !== 'object') throw patchFailed(`path "${pointer}" does not exist`);
  return { parent: current as Container, key: tokens[tokens.length - 1] ?? '' };
}

function getAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const { parent, key } = resolveParent(doc, tokens, pointer);
  const value = Array.isArray(parent) ? parent[Number(key)] : parent[key];
  if (value === undefined) throw patchFailed(`path "${pointer}" does not exist`);
  return value;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  const { parent, key } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length) throw patchFailed(`path "${pointer}" does not exist`);
    return parent.splice(index, 1)[0];
  }
  if (!(key in parent)) throw patchFailed(`path "${pointer}" does not exist`);
  const removed = parent[key];
  delete parent[key];
  return removed;
}

function addAt(doc: unknown, pointer: string, value: unknown, replace: boolean): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return structuredClone(value);
  const { parent, key } = resolveParent(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw patchFailed(`index "${key}" out of range`);
    if (replace) parent[index] = structuredClone(value);
    else parent.splice(index, 0, structuredClone(value));
  } else {
    if (replace && !(key in parent)) throw patchFailed(`path "${pointer}" does not exist`);
    parent[key] = structuredClone(value);
  }
  return doc;
}

export function applyJsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = structuredClone(document);
  for (const raw of operations as Operation[]) {
    switch (raw.op) {
      case 'add':
        doc = addAt(doc, raw.path, raw.value, false);
        break;
      case 'replace':
        doc = addAt(doc, raw.path, raw.value, true);
        break;
      case 'remove':
        removeAt(doc, raw.path);
        break;
      case 'move': {
        const moved = removeAt(doc, raw.from ?? '');
        doc = addAt(doc, raw.path, moved, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, raw.path, getAt(doc, raw.from ?? ''), false);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, raw.path)) !== JSON.stringify(raw.value)) throw patchFailed(`testing value ${raw.path} failed`);
        break;
      default:
        throw patchFailed(`unexpected kind of operation "${String(raw.op)}"`);
    }
  }
  return doc;
}

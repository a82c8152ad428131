import { badRequest } from './status.js';

/**
 * Continue tokens in the real server's format: base64 of
 * `{"v":"meta.k8s.io/v1","rv":<rv>,"start":"<key>\u0000"}`, i.e. "the next page starts just after
 * this key, read at this resourceVersion".
 */

export interface ContinuePosition {
  resourceVersion: number;
  /** Items with a storage key strictly greater than this one come next. */
  afterKey: string;
}

export function encodeContinueToken(position: ContinuePosition): string {
  const json = JSON.stringify({ v: 'meta.k8s.io/v1', rv: position.resourceVersion, start: `${position.afterKey}\u0000` });
  return Buffer.from(json, 'utf8').toString('base64url');
}

export function decodeContinueToken(token: string): ContinuePosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  const record = parsed as { v?: unknown; rv?: unknown; start?: unknown };
  if (record.v !== 'meta.k8s.io/v1' || typeof record.rv !== 'number' || typeof record.start !== 'string' || !record.start.endsWith('\u0000')) {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  return { resourceVersion: record.rv, afterKey: record.start.slice(0, -1) };
}

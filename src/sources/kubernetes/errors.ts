/** A short, log-friendly description of whatever client-node reported as an error. */
export function describeError(err: unknown): string {
  if (err === null || err === undefined) return String(err);
  if (typeof err !== 'object') return String(err);
  const e = err as { name?: string; message?: string; statusCode?: number; code?: unknown; cause?: { code?: string; message?: string } };
  const parts: string[] = [];
  if (typeof e.statusCode === 'number') parts.push(`HTTP ${e.statusCode}`);
  else if (typeof e.code === 'number' && e.code >= 100 && e.code < 600) parts.push(`HTTP ${e.code}`);
  const message = (e.message ?? '').split('\n')[0] ?? '';
  parts.push(`${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${message}`.trim());
  if (e.cause?.code) parts.push(`(${e.cause.code})`);
  return parts.filter(Boolean).join(' ') || String(err);
}

/** Thrown into client-node by a retired informer's list function: nothing may come of it. */
export class RetiredInformerError extends Error {
  override name = 'RetiredInformerError';
  constructor() {
    super('this informer has been replaced');
  }
}

/**
 * The API connection cannot be set up; the message says which setting is at fault. In a module of
 * its own so that callers can test for it without loading @kubernetes/client-node.
 */
export class KubeConnectionError extends Error {
  override name = 'KubeConnectionError';
}

import { RESOURCE_TYPES, type ResourceType } from './resources.js';
import { RESOURCE_NAMES } from './types.js';

/** URL paths of the Kubernetes REST API, mapped onto the resources this server serves. */

export type Route =
  | { kind: 'discovery'; document: 'version' | 'api' | 'apis' | 'health' | { groupVersion: string } | { group: string } }
  | { kind: 'resource'; type: ResourceType; namespace?: string; name?: string; subresource?: 'status' }
  | { kind: 'unknown' };

function findType(group: string, version: string, plural: string): ResourceType | undefined {
  for (const name of RESOURCE_NAMES) {
    const type = RESOURCE_TYPES[name];
    if (type.group === group && type.version === version && type.name === plural) return type;
  }
  return undefined;
}

/** The part after `/api/v1` or `/apis/<group>/<version>`: `<plural>[/<name>[/status]]` or `namespaces/<ns>/<plural>[...]`. */
function resourceRoute(group: string, version: string, rest: string[]): Route {
  let namespace: string | undefined;
  let parts = rest;
  if (parts[0] === 'namespaces' && parts.length >= 3) {
    namespace = parts[1];
    parts = parts.slice(2);
  }
  const [plural = '', name, subresource, ...extra] = parts;
  const type = findType(group, version, plural);
  if (!type || extra.length > 0) return { kind: 'unknown' };
  // A namespaced path for a cluster-scoped resource (or a name on a cluster-wide namespaced path) does not exist.
  if (namespace !== undefined && !type.namespaced) return { kind: 'unknown' };
  if (namespace === undefined && type.namespaced && name !== undefined) return { kind: 'unknown' };
  if (subresource !== undefined && (subresource !== 'status' || !type.hasStatusSubresource)) return { kind: 'unknown' };
  const route: Route = { kind: 'resource', type };
  if (namespace !== undefined) route.namespace = namespace;
  if (name !== undefined) route.name = name;
  if (subresource === 'status') route.subresource = 'status';
  return route;
}

export function parseRoute(pathname: string): Route {
  const segments = pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  const [root, a, b, ...rest] = segments;
  if (root === 'version' && segments.length === 1) return { kind: 'discovery', document: 'version' };
  if ((root === 'healthz' || root === 'livez' || root === 'readyz') && segments.length === 1) return { kind: 'discovery', document: 'health' };
  if (root === 'api') {
    if (a === undefined) return { kind: 'discovery', document: 'api' };
    if (a !== 'v1') return { kind: 'unknown' };
    if (b === undefined) return { kind: 'discovery', document: { groupVersion: 'v1' } };
    return resourceRoute('', 'v1', [b, ...rest]);
  }
  if (root === 'apis') {
    if (a === undefined) return { kind: 'discovery', document: 'apis' };
    if (b === undefined) return { kind: 'discovery', document: { group: a } };
    const [plural, ...more] = rest;
    if (plural === undefined) return { kind: 'discovery', document: { groupVersion: `${a}/${b}` } };
    return resourceRoute(a, b, [plural, ...more]);
  }
  return { kind: 'unknown' };
}

import { RESOURCE_TYPES, type ResourceType } from './resources.js';
import { RESOURCE_NAMES } from './types.js';

/**
 * Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`, `/version`) for the
 * resources this server serves, in the shapes kubectl and client libraries read.
 */

const VERBS_NAMESPACED = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function groupVersions(): Map<string, ResourceType[]> {
  const byGroupVersion = new Map<string, ResourceType[]>();
  for (const name of RESOURCE_NAMES) {
    const type = RESOURCE_TYPES[name];
    const key = type.group === '' ? type.version : `${type.group}/${type.version}`;
    byGroupVersion.set(key, [...(byGroupVersion.get(key) ?? []), type]);
  }
  return byGroupVersion;
}

export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: '34',
    gitVersion: 'v1.34.0-kube-proxy-ts-test',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.24.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(group: string, version: string): Record<string, unknown> {
  const groupVersion = `${group}/${version}`;
  return { name: group, versions: [{ groupVersion, version }], preferredVersion: { groupVersion, version } };
}

export function apiGroupList(): Record<string, unknown> {
  const groups = [...groupVersions().keys()]
    .filter((gv) => gv.includes('/'))
    .map((gv) => {
      const [group = '', version = ''] = gv.split('/');
      return apiGroup(group, version);
    });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** `/apis/<group>`: the group document, or undefined for a group this server does not serve. */
export function apiGroupDocument(group: string): Record<string, unknown> | undefined {
  const gv = [...groupVersions().keys()].find((k) => k.startsWith(`${group}/`));
  if (!gv) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, gv.split('/')[1] ?? '') };
}

/** `/api/v1` or `/apis/<group>/<version>`, or undefined when not served. */
export function apiResourceList(groupVersion: string): Record<string, unknown> | undefined {
  const types = groupVersions().get(groupVersion);
  if (!types) return undefined;
  const resources = types.flatMap((type) => {
    const main = {
      name: type.name,
      singularName: type.kind.toLowerCase(),
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: VERBS_NAMESPACED,
      ...(type.shortNames.length > 0 ? { shortNames: [...type.shortNames] } : {}),
    };
    const status = { name: `${type.name}/status`, singularName: '', namespaced: type.namespaced, kind: type.kind, verbs: ['get', 'patch', 'update'] };
    return type.hasStatusSubresource ? [main, status] : [main];
  });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}

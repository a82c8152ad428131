import type { ResourceName } from './types.js';

/** What the server needs to know about one resource type: where it lives and how it is shaped. */
export interface ResourceType {
  name: ResourceName;
  group: string; // '' for the core group
  version: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  /** Field selector keys the real API server accepts for this resource, beyond metadata.name/namespace. */
  extraSelectableFields: readonly string[];
  /** Whether create keeps `.status` from the request body (Node does; Service clears it). */
  keepsStatusOnCreate: boolean;
  /** Whether the type has a `/status` subresource (then updates of the main resource keep the old status). */
  hasStatusSubresource: boolean;
  shortNames: readonly string[];
}

export const RESOURCE_TYPES: Readonly<Record<ResourceName, ResourceType>> = {
  services: {
    name: 'services',
    group: '',
    version: 'v1',
    kind: 'Service',
    listKind: 'ServiceList',
    namespaced: true,
    extraSelectableFields: ['spec.clusterIP', 'spec.type'],
    keepsStatusOnCreate: false,
    hasStatusSubresource: true,
    shortNames: ['svc'],
  },
  endpointslices: {
    name: 'endpointslices',
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    listKind: 'EndpointSliceList',
    namespaced: true,
    extraSelectableFields: [],
    keepsStatusOnCreate: true,
    hasStatusSubresource: false,
    shortNames: [],
  },
  nodes: {
    name: 'nodes',
    group: '',
    version: 'v1',
    kind: 'Node',
    listKind: 'NodeList',
    namespaced: false,
    extraSelectableFields: ['spec.unschedulable'],
    keepsStatusOnCreate: true,
    hasStatusSubresource: true,
    shortNames: ['no'],
  },
  servicecidrs: {
    name: 'servicecidrs',
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'ServiceCIDR',
    listKind: 'ServiceCIDRList',
    namespaced: false,
    extraSelectableFields: [],
    keepsStatusOnCreate: false,
    hasStatusSubresource: true,
    shortNames: [],
  },
};

export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** The key etcd would store the object under; lists are sorted by it, continue tokens point into it. */
export function storageKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

import {
  CoreV1Api,
  DiscoveryV1Api,
  Observable,
  type ConfigurationOptions,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { PROXYABLE_LABEL_SELECTOR } from '../../model/k8s.js';

export type ResourceName = 'services' | 'endpointslices' | 'nodes';

/** One list/watch kube-proxy keeps open: where, with which selectors, and how to list it. */
export interface WatchedResource<T extends KubernetesObject = KubernetesObject> {
  readonly name: ResourceName;
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** One LIST; `signal` aborts it (client-node itself sets no timeout on API calls). */
  list(signal: AbortSignal): Promise<KubernetesListObject<T>>;
}

/** Per-call options that attach an AbortSignal to the generated client's request. */
function abortable(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          ctx.setSignal(signal);
          return new Observable(Promise.resolve(ctx));
        },
        post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** Services without `service.kubernetes.io/service-proxy-name` and `.../headless`, as upstream. */
export function servicesResource(kc: KubeConfig): WatchedResource {
  const api = kc.makeApiClient(CoreV1Api);
  const labelSelector = PROXYABLE_LABEL_SELECTOR;
  return {
    name: 'services',
    path: '/api/v1/services',
    labelSelector,
    list: (signal) => api.listServiceForAllNamespaces({ labelSelector }, abortable(signal)),
  };
}

/** EndpointSlices with the same label selector as Services. */
export function endpointSlicesResource(kc: KubeConfig): WatchedResource {
  const api = kc.makeApiClient(DiscoveryV1Api);
  const labelSelector = PROXYABLE_LABEL_SELECTOR;
  return {
    name: 'endpointslices',
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    labelSelector,
    list: (signal) => api.listEndpointSliceForAllNamespaces({ labelSelector }, abortable(signal)),
  };
}

/** The proxy's own Node only: field selector `metadata.name=<node>`. */
export function ownNodeResource(kc: KubeConfig, nodeName: string): WatchedResource {
  const api = kc.makeApiClient(CoreV1Api);
  const fieldSelector = `metadata.name=${nodeName}`;
  return {
    name: 'nodes',
    path: '/api/v1/nodes',
    fieldSelector,
    list: (signal) => api.listNode({ fieldSelector }, abortable(signal)),
  };
}

import { CoreV1Api, DiscoveryV1Api, KubeConfig, ListWatch, makeInformer, Watch, type KubernetesObject, type V1EndpointSlice, type V1Node, type V1Service } from '@kubernetes/client-node';
import { KUBE_PROXY_LABEL_SELECTOR } from './objects.js';

/**
 * client-node 2.0.1 clients and informers wired to a test server's kubeconfig, the way
 * kube-proxy watches: Services and EndpointSlices with the upstream label selector, its own Node
 * by field selector.
 */

export function kubeConfigFrom(kubeconfigPath: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc;
}

export interface InformerOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Overrides Watch's 30 s inactivity timeout, to test stalls quickly. */
  watchInactivityTimeoutMs?: number;
}

function watchFor(kc: KubeConfig, options: InformerOptions): Watch {
  const watch = new Watch(kc);
  // `requestTimeoutMs` is private in 2.0.1's typings but a plain instance property at run time.
  if (options.watchInactivityTimeoutMs !== undefined) (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = options.watchInactivityTimeoutMs;
  return watch;
}

export function serviceInformer(kc: KubeConfig, options: InformerOptions = {}): ListWatch<V1Service> {
  const core = kc.makeApiClient(CoreV1Api);
  const labelSelector = options.labelSelector ?? KUBE_PROXY_LABEL_SELECTOR;
  if (options.watchInactivityTimeoutMs === undefined && options.fieldSelector === undefined) {
    return makeInformer(kc, '/api/v1/services', () => core.listServiceForAllNamespaces({ labelSelector }), labelSelector) as ListWatch<V1Service>;
  }
  const list = (): ReturnType<CoreV1Api['listServiceForAllNamespaces']> =>
    core.listServiceForAllNamespaces({ labelSelector, ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}) });
  return new ListWatch('/api/v1/services', watchFor(kc, options), list, false, labelSelector, options.fieldSelector);
}

export function endpointSliceInformer(kc: KubeConfig, options: InformerOptions = {}): ListWatch<V1EndpointSlice> {
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const labelSelector = options.labelSelector ?? KUBE_PROXY_LABEL_SELECTOR;
  return new ListWatch(
    '/apis/discovery.k8s.io/v1/endpointslices',
    watchFor(kc, options),
    () => discovery.listEndpointSliceForAllNamespaces({ labelSelector }),
    false,
    labelSelector,
  );
}

/** kube-proxy's own-Node watch: field selector `metadata.name=<node>`. */
export function nodeInformer(kc: KubeConfig, nodeName: string, options: InformerOptions = {}): ListWatch<V1Node> {
  const core = kc.makeApiClient(CoreV1Api);
  const fieldSelector = `metadata.name=${nodeName}`;
  return new ListWatch('/api/v1/nodes', watchFor(kc, options), () => core.listNode({ fieldSelector }), false, undefined, fieldSelector);
}

export type { KubernetesObject };

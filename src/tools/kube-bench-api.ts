import { CoreV1Api, DiscoveryV1Api, KubeConfig, type V1EndpointSlice, type V1Service } from '@kubernetes/client-node';
import type { BenchApi } from './sync-latency-benchmark.js';

/** BenchApi over client-node and fetch, with the pod's ServiceAccount (or KUBECONFIG outside). */
export async function kubeBenchApi(): Promise<BenchApi> {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  return {
    listProxyPods: async (namespace, labelSelector) =>
      (await core.listNamespacedPod({ namespace, labelSelector })).items
        .filter((p) => p.status?.phase === 'Running' && p.status.podIP && p.spec?.nodeName)
        .map((p) => ({ node: p.spec!.nodeName!, ip: p.status!.podIP! })),
    createNamespace: async (name, labels) => void (await core.createNamespace({ body: { metadata: { name, labels } } })),
    deleteNamespace: async (name) => void (await core.deleteNamespace({ name })),
    create: async (namespace, object) => {
      if (object.kind === 'Service') await core.createNamespacedService({ namespace, body: object as V1Service });
      else if (object.kind === 'EndpointSlice') await discovery.createNamespacedEndpointSlice({ namespace, body: object as unknown as V1EndpointSlice });
      else throw new Error(`cannot create a ${String(object.kind)}`);
    },
    fetchText: async (url) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
      return res.text();
    },
  };
}

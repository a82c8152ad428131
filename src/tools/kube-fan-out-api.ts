import { BatchV1Api, CoreV1Api, KubeConfig, type V1Job } from '@kubernetes/client-node';
import type { FanOutApi } from './per-node-jobs.js';

/** FanOutApi over client-node, with the pod's ServiceAccount (or KUBECONFIG outside a cluster). */
export async function kubeFanOutApi(): Promise<FanOutApi> {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const core = kc.makeApiClient(CoreV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  return {
    listNodes: async (labelSelector) => (await core.listNode(labelSelector ? { labelSelector } : {})).items.map((n) => n.metadata!.name!),
    describePod: async (namespace, name) => {
      const pod = await core.readNamespacedPod({ namespace, name });
      const ref = pod.metadata?.ownerReferences?.find((r) => r.kind === 'Job');
      return {
        image: pod.spec?.containers[0]?.image,
        ownerJob: ref ? { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid } : undefined,
      };
    },
    createJob: async (namespace, job) => (await batch.createNamespacedJob({ namespace, body: job as V1Job })).metadata!.name!,
    jobState: async (namespace, name) => {
      const job = await batch.readNamespacedJob({ namespace, name });
      const done = job.status?.conditions?.find((c) => c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'));
      return done?.type as 'Complete' | 'Failed' | undefined;
    },
    jobOutcome: async (namespace, name) => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: `job-name=${name}` })).items;
      pods.sort((a, b) => String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')));
      const pod = pods.at(-1);
      if (!pod?.metadata?.name) return { exitCode: undefined, log: '(no pod)' };
      const container = pod.spec?.containers[0]?.name;
      const status = pod.status?.containerStatuses?.find((s) => s.name === container);
      const exitCode = status?.state?.terminated?.exitCode;
      const log = await core.readNamespacedPodLog({ namespace, name: pod.metadata.name, ...(container ? { container } : {}), tailLines: 200 }).catch((err: unknown) => `(no log: ${String(err)})`);
      return { exitCode, log };
    },
  };
}

#!/usr/bin/env node
import { CoreV1Api, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { parseArgs } from 'node:util';

/**
 * Lists one resource through client-node with a kubeconfig and prints
 * `{"resourceVersion": "...", "names": ["ns/name", ...]}`. Tests run it inside a network
 * namespace to prove that a client there reaches a test API server bound there.
 */

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { kubeconfig: { type: 'string' }, resource: { type: 'string' }, 'label-selector': { type: 'string' } } });
  if (!values.kubeconfig || !values.resource) throw new Error('usage: kube-list-cli --kubeconfig PATH --resource services|endpointslices|nodes [--label-selector SEL]');
  const kc = new KubeConfig();
  kc.loadFromFile(values.kubeconfig);
  const opts = values['label-selector'] ? { labelSelector: values['label-selector'] } : {};
  const core = kc.makeApiClient(CoreV1Api);
  const list =
    values.resource === 'services'
      ? await core.listServiceForAllNamespaces(opts)
      : values.resource === 'nodes'
        ? await core.listNode(opts)
        : await kc.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces(opts);
  const names = list.items.map((o) => (o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ''}` : (o.metadata?.name ?? '')));
  process.stdout.write(`${JSON.stringify({ resourceVersion: list.metadata?.resourceVersion, names })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});

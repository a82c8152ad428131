import { makeInformer, CoreV1Api, type V1Service } from '@kubernetes/client-node';
import t from 'tap';
import {
  endpointSlice,
  endpointSliceInformer,
  InformerProbe,
  KUBE_PROXY_LABEL_SELECTOR,
  kubeConfigFrom,
  node,
  nodeInformer,
  service,
  TestApiServer,
} from '../support/apiserver/index.js';

/** client-node 2.0.1 informers in normal operation against the test server, watching as kube-proxy does. */

t.test('a Service informer with the kube-proxy selector sees add, update, delete and label transitions', async (t) => {
  const server = await TestApiServer.start();
  const kc = kubeConfigFrom(server.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Service>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces({ labelSelector: KUBE_PROXY_LABEL_SELECTOR }), KUBE_PROXY_LABEL_SELECTOR);
  const probe = new InformerProbe(informer);
  t.teardown(async () => {
    await informer.stop();
    await server.stop();
  });

  await server.create('services', service({ name: 'web' }));
  await server.create('services', service({ name: 'other-proxy', labels: { 'service.kubernetes.io/service-proxy-name': 'foo' } }));
  await informer.start();
  await probe.waitForEvent('add', 'web');
  const [watch] = await server.waitForWatches({ resource: 'services' });
  t.equal(watch?.query.labelSelector, KUBE_PROXY_LABEL_SELECTOR, 'the watch carries the label selector');
  t.equal(watch?.query.resourceVersion, await server.currentResourceVersion(), 'the watch starts at the list version');
  const list = (await server.requests({ resource: 'services', verb: 'list' }))[0];
  t.same(list?.query, { labelSelector: KUBE_PROXY_LABEL_SELECTOR }, 'the list carries the label selector and no resourceVersion');

  await server.create('services', service({ name: 'api', namespace: 'prod' }));
  await server.patch('services', { namespace: 'default', name: 'web' }, { spec: { ports: [{ name: 'http', port: 81 }] } });
  // Gaining the label hides the Service (DELETED on this watch); losing it shows it again (ADDED).
  await server.patch('services', { namespace: 'default', name: 'web' }, { metadata: { labels: { 'service.kubernetes.io/headless': '' } } });
  await server.patch('services', { namespace: 'default', name: 'other-proxy' }, { metadata: { labels: null } });
  await server.remove('services', { namespace: 'prod', name: 'api' });
  await probe.waitForEvent('delete', 'api');

  t.same(probe.events(), ['add web', 'add api', 'update web', 'delete web', 'add other-proxy', 'delete api']);
  t.same(informer.list().map((s) => s.metadata?.name).sort(), ['other-proxy']);
  t.equal(informer.get('other-proxy', 'default')?.spec?.clusterIP, '10.96.0.2', 'the cache holds the server-defaulted object');
  t.equal(probe.count('connect'), 1, "one 'connect' for the initial list+watch");
  t.equal(probe.count('error'), 0);
});

t.test('an EndpointSlice informer and the own-Node informer (field selector)', async (t) => {
  const server = await TestApiServer.start();
  const kc = kubeConfigFrom(server.kubeconfigPath);
  const slices = endpointSliceInformer(kc);
  const nodes = nodeInformer(kc, 'node-a');
  const sliceProbe = new InformerProbe(slices);
  const nodeProbe = new InformerProbe(nodes);
  t.teardown(async () => {
    await slices.stop();
    await nodes.stop();
    await server.stop();
  });

  await server.create('nodes', node({ name: 'node-a', zone: 'z1' }));
  await server.create('nodes', node({ name: 'node-b', zone: 'z2' }));
  await slices.start();
  await nodes.start();
  await nodeProbe.waitForEvent('add', 'node-a');
  await server.waitForWatches({ resource: 'endpointslices' });
  const [nodeWatch] = await server.waitForWatches({ resource: 'nodes' });
  t.equal(nodeWatch?.query.fieldSelector, 'metadata.name=node-a');

  await server.create('endpointslices', endpointSlice({ name: 'web-1', serviceName: 'web', endpoints: [{ addresses: ['10.1.0.1'], nodeName: 'node-a' }] }));
  await server.patch('endpointslices', { namespace: 'default', name: 'web-1' }, { endpoints: [{ addresses: ['10.1.0.1'], conditions: { ready: false } }] });
  await server.patch('nodes', { name: 'node-a' }, { metadata: { labels: { 'topology.kubernetes.io/zone': 'z3' } } });
  await server.patch('nodes', { name: 'node-b' }, { metadata: { labels: { 'topology.kubernetes.io/zone': 'z4' } } });
  await server.remove('endpointslices', { namespace: 'default', name: 'web-1' });
  await sliceProbe.waitForEvent('delete', 'web-1');
  await nodeProbe.waitForEvent('update', 'node-a');

  t.same(sliceProbe.events(), ['add web-1', 'update web-1', 'delete web-1']);
  t.same(nodeProbe.events(), ['add node-a', 'update node-a'], 'only the own Node is seen');
  t.equal(nodes.get('node-a')?.metadata?.labels?.['topology.kubernetes.io/zone'], 'z3');
});

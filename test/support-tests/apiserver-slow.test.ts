import t from 'tap';
import { InformerProbe, kubeConfigFrom, service, serviceInformer, TestApiServer } from '../support/apiserver/index.js';

/**
 * client-node 2.0.1's built-in timeouts, at their real lengths (30 s and 300 s). Too slow for
 * every run: set KUBE_PROXY_TS_SLOW_TESTS=1 to include them.
 */

const slow = process.env.KUBE_PROXY_TS_SLOW_TESTS === '1';
const skip = slow ? false : 'slow (set KUBE_PROXY_TS_SLOW_TESTS=1)';

t.test('a stalled watch is re-opened after the 30 s inactivity timeout, silently', { skip }, async (t) => {
  const server = await TestApiServer.start();
  const informer = serviceInformer(kubeConfigFrom(server.kubeconfigPath));
  const probe = new InformerProbe(informer);
  t.teardown(async () => {
    await informer.stop();
    await server.stop();
  });
  await informer.start();
  const [first] = await server.waitForWatches({ resource: 'services' });
  await server.stallWatches({ resource: 'services' });
  await server.create('services', service({ name: 'c' }));
  const stalledAt = Date.now();
  await probe.waitForEvent('add', 'c', 40000);
  const waited = Date.now() - stalledAt;
  t.ok(waited >= 29000 && waited < 35000, `re-watched after ${waited} ms`);
  t.equal(probe.count('error'), 0);
  t.ok(first);
});

t.test('a LIST that never answers fails after undici 8 headersTimeout (300 s): error, informer stops', { skip }, async (t) => {
  const server = await TestApiServer.start();
  const informer = serviceInformer(kubeConfigFrom(server.kubeconfigPath));
  const probe = new InformerProbe(informer);
  t.teardown(async () => {
    await informer.stop();
    await server.stop();
  });
  await informer.start();
  await server.waitForWatches({ resource: 'services' });
  await server.stallNext({ resource: 'services', verbs: ['list'] });
  await server.expireWatches({ resource: 'services' });
  const stalledAt = Date.now();
  await probe.waitForEvent('error', undefined, 330000);
  const waited = Date.now() - stalledAt;
  const error = probe.errors()[0] as { name?: string; code?: string; cause?: { code?: string } };
  t.comment(`error after ${waited} ms: ${JSON.stringify({ name: error.name, code: error.code, cause: error.cause?.code })}`);
  t.ok(waited >= 295000 && waited < 320000, `after ${waited} ms`);
  t.equal(error.cause?.code ?? error.code, 'UND_ERR_HEADERS_TIMEOUT');
});

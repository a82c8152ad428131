import { CoreV1Api, DiscoveryV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import t from 'tap';
import { endpointSlice, node, service, TestApiServer } from '../support/apiserver/index.js';

/** Plain API calls of the real client-node 2.0.1 against the test server: CRUD, errors, selectors, chunked lists. */

function clientsFor(server: TestApiServer): { core: CoreV1Api; discovery: DiscoveryV1Api } {
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  return { core: kc.makeApiClient(CoreV1Api), discovery: kc.makeApiClient(DiscoveryV1Api) };
}

async function apiErrorCode(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown>; headers: Record<string, string> }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { code: number; body: unknown; headers: Record<string, string> };
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as Record<string, unknown>) : (e.body as Record<string, unknown>);
    return { code: e.code, body, headers: e.headers };
  }
  throw new Error('expected the call to fail');
}

t.test('HTTPS with a bearer token: create, get, list, replace, patch, delete', async (t) => {
  const server = await TestApiServer.start({ token: 'secret-token' });
  t.teardown(() => server.stop());
  const { core, discovery } = clientsFor(server);

  const created = await core.createNamespacedService({ namespace: 'default', body: service({ name: 'web', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }) as V1Service });
  t.equal(created.metadata?.name, 'web');
  t.match(created.metadata?.uid, /^[0-9a-f-]{36}$/);
  t.equal(created.metadata?.generation, 1);
  t.ok(created.metadata?.creationTimestamp instanceof Date, 'creationTimestamp parses as a date');
  t.equal(created.spec?.clusterIP, '10.96.0.1', 'first free ClusterIP of 10.96.0.0/12');
  t.same(created.spec?.ipFamilies, ['IPv4']);
  t.equal(created.spec?.ports?.[0]?.protocol, 'TCP');
  t.equal(created.spec?.type, 'ClusterIP');

  const fetched = await core.readNamespacedService({ name: 'web', namespace: 'default' });
  t.equal(fetched.metadata?.resourceVersion, created.metadata?.resourceVersion);

  const conflictBody = structuredClone(fetched);
  fetched.spec!.ports![0]!.port = 81;
  const replaced = await core.replaceNamespacedService({ name: 'web', namespace: 'default', body: fetched });
  t.equal(replaced.spec?.ports?.[0]?.port, 81);
  t.equal(replaced.metadata?.generation, 2, 'a spec change bumps generation');
  t.ok(Number(replaced.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));

  const stale = await apiErrorCode(core.replaceNamespacedService({ name: 'web', namespace: 'default', body: conflictBody }));
  t.equal(stale.code, 409);
  t.equal(stale.body.reason, 'Conflict');

  const labelled = await core.patchNamespacedService(
    { name: 'web', namespace: 'default', body: { metadata: { labels: { app: 'web' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  t.same(labelled.metadata?.labels, { app: 'web' });
  t.equal(labelled.metadata?.generation, 2, 'a metadata-only change keeps generation');

  const jsonPatched = await core.patchNamespacedService({ name: 'web', namespace: 'default', body: [{ op: 'add', path: '/metadata/labels/tier', value: 'front' }] });
  t.same(jsonPatched.metadata?.labels, { app: 'web', tier: 'front' }, 'the default patch content type (JSON patch) works');

  const slice = await discovery.createNamespacedEndpointSlice({ namespace: 'default', body: endpointSlice({ name: 'web-abc', serviceName: 'web', endpoints: [{ addresses: ['10.0.0.5'], nodeName: 'n1' }] }) as never });
  t.equal(slice.addressType, 'IPv4');
  const slices = await discovery.listEndpointSliceForAllNamespaces({ labelSelector: 'kubernetes.io/service-name=web' });
  t.same(slices.items.map((s) => s.metadata?.name), ['web-abc']);

  await core.createNode({ body: node({ name: 'n1', zone: 'zone-a', internalIPs: ['192.168.0.1'] }) as never });
  const nodes = await core.listNode({ fieldSelector: 'metadata.name=n1' });
  t.equal(nodes.items[0]?.metadata?.labels?.['topology.kubernetes.io/zone'], 'zone-a');
  t.equal(nodes.items[0]?.status?.addresses?.[0]?.address, '192.168.0.1', 'a Node keeps its status on create');

  const deleted = await core.deleteNamespacedService({ name: 'web', namespace: 'default' });
  t.equal(deleted.metadata?.name, 'web', 'deleting a Service returns the Service');
  const missing = await apiErrorCode(core.readNamespacedService({ name: 'web', namespace: 'default' }));
  t.equal(missing.code, 404);
  t.same(missing.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'services "web" not found', reason: 'NotFound', details: { name: 'web', group: '', kind: 'services' }, code: 404 });

  const status = await discovery.deleteNamespacedEndpointSlice({ name: 'web-abc', namespace: 'default' });
  t.equal(status.status, 'Success', 'deleting an EndpointSlice returns a Success Status');

  const records = await server.requests({ resource: 'services' });
  t.same(records.map((r) => r.verb), ['create', 'get', 'update', 'update', 'patch', 'patch', 'delete', 'get']);
});

t.test('errors have the real Status shapes', async (t) => {
  const server = await TestApiServer.start();
  t.teardown(() => server.stop());
  const { core } = clientsFor(server);
  await core.createNamespacedService({ namespace: 'default', body: service({ name: 'dup' }) as V1Service });

  const exists = await apiErrorCode(core.createNamespacedService({ namespace: 'default', body: service({ name: 'dup' }) as V1Service }));
  t.equal(exists.code, 409);
  t.equal(exists.body.reason, 'AlreadyExists');

  const invalid = await apiErrorCode(core.createNamespacedService({ namespace: 'default', body: service({ name: 'bad', ports: [{ port: 70000 }] }) as V1Service }));
  t.equal(invalid.code, 422);
  t.equal(invalid.body.reason, 'Invalid');
  t.match(invalid.body.message, /spec\.ports\[0\]\.port/);

  const badSelector = await apiErrorCode(core.listServiceForAllNamespaces({ labelSelector: 'a in (b' }));
  t.equal(badSelector.code, 400);
  const badField = await apiErrorCode(core.listServiceForAllNamespaces({ fieldSelector: 'spec.selector=x' }));
  t.equal(badField.code, 400);
  t.equal(badField.body.message, 'field label not supported: spec.selector');

  await server.failNext({ resource: 'services', verbs: ['list'], status: 429, retryAfterSeconds: 3 });
  const throttled = await apiErrorCode(core.listServiceForAllNamespaces());
  t.equal(throttled.code, 429);
  t.equal(throttled.headers['retry-after'], '3');
  t.same(throttled.body.details, { retryAfterSeconds: 3 });

  await server.failNext({ resource: 'services', status: 403 });
  const forbidden = await apiErrorCode(core.listNamespacedService({ namespace: 'default' }));
  t.equal(forbidden.code, 403);
  t.equal(forbidden.body.message, 'services is forbidden: User "system:kube-proxy" cannot list resource "services" in API group "" in the namespace "default"');

  await server.failNext({ status: 500, count: 2 });
  t.equal((await apiErrorCode(core.listNode())).code, 500);
  t.equal((await apiErrorCode(core.readNamespacedService({ name: 'dup', namespace: 'default' }))).code, 500);
  t.ok(await core.readNamespacedService({ name: 'dup', namespace: 'default' }), 'the fault is used up after count requests');

  const gone = await apiErrorCode(core.listServiceForAllNamespaces({ resourceVersion: '1', resourceVersionMatch: 'Exact' }));
  t.equal(gone.code, 410, 'an exact list older than the history is 410 Expired');
  t.equal(gone.body.reason, 'Expired');

  const forbiddenMatch = await apiErrorCode(core.listServiceForAllNamespaces({ resourceVersionMatch: 'NotOlderThan' }));
  t.equal(forbiddenMatch.code, 422, 'resourceVersionMatch without resourceVersion is invalid');

  await server.configure({ tooLargeResourceVersionWaitMs: 100 });
  const tooLarge = await apiErrorCode(core.listServiceForAllNamespaces({ resourceVersion: '999999', resourceVersionMatch: 'NotOlderThan' }));
  t.equal(tooLarge.code, 504);
  t.equal((tooLarge.body.details as { causes: Array<{ reason: string }> }).causes[0]?.reason, 'ResourceVersionTooLarge');
});

t.test('a missing or wrong bearer token is 401', async (t) => {
  const server = await TestApiServer.start({ token: 'right' });
  t.teardown(() => server.stop());
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  kc.users[0] = { name: 'test-user', token: 'wrong' };
  const reply = await apiErrorCode(kc.makeApiClient(CoreV1Api).listNode());
  // The generated client maps 401 to an ApiException without a body; the server does send the Status.
  t.equal(reply.code, 401);
  t.equal((await server.requests())[0]?.status, 401);
});

t.test('plain HTTP works with insecure-skip-tls-verify', async (t) => {
  const server = await TestApiServer.start({ tls: false });
  t.teardown(() => server.stop());
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const { core } = clientsFor(server);
  await server.create('nodes', node({ name: 'n1' }));
  t.same((await core.listNode()).items.map((n) => n.metadata?.name), ['n1']);
});

t.test('label selectors: kube-proxy selector, inequality, sets, existence', async (t) => {
  const server = await TestApiServer.start();
  t.teardown(() => server.stop());
  const { core } = clientsFor(server);
  await server.create('services', service({ name: 'plain' }));
  await server.create('services', service({ name: 'claimed', labels: { 'service.kubernetes.io/service-proxy-name': 'other' } }));
  await server.create('services', service({ name: 'headless', labels: { 'service.kubernetes.io/headless': '' }, clusterIP: 'None' }));
  await server.create('services', service({ name: 'tiered', namespace: 'prod', labels: { tier: 'front', env: 'prod' } }));
  const names = async (opts: { labelSelector?: string; fieldSelector?: string }): Promise<string[]> =>
    (await core.listServiceForAllNamespaces(opts)).items.map((s) => s.metadata?.name ?? '');

  t.same(await names({ labelSelector: '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless' }), ['plain', 'tiered']);
  t.same(await names({ labelSelector: 'tier!=front' }), ['claimed', 'headless', 'plain'], '!= matches objects without the label');
  t.same(await names({ labelSelector: 'env in (prod,staging),tier' }), ['tiered']);
  t.same(await names({ labelSelector: 'env notin (prod)' }), ['claimed', 'headless', 'plain']);
  t.same(await names({ labelSelector: 'service.kubernetes.io/headless' }), ['headless']);
  t.same(await names({ fieldSelector: 'metadata.namespace=prod' }), ['tiered']);
  t.same(await names({ fieldSelector: 'metadata.name!=plain,metadata.namespace=default' }), ['claimed', 'headless']);
  const query = (await server.requests({ resource: 'services', verb: 'list' }))[0]?.query;
  t.same(query, { labelSelector: '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless' }, 'the request log keeps the query');
});

t.test('chunked lists with limit/continue read one consistent snapshot', async (t) => {
  const server = await TestApiServer.start();
  t.teardown(() => server.stop());
  const { core } = clientsFor(server);
  for (const name of ['a', 'b', 'c', 'd', 'e']) await server.create('services', service({ name }));

  const first = await core.listServiceForAllNamespaces({ limit: 2 });
  t.same(first.items.map((s) => s.metadata?.name), ['a', 'b']);
  t.equal(first.metadata?.remainingItemCount, 3);
  t.ok(first.metadata?._continue, 'a continue token');
  const snapshotRv = first.metadata?.resourceVersion;

  // Changes after the first page must not show up in later pages.
  await server.remove('services', { namespace: 'default', name: 'c' });
  await server.create('services', service({ name: 'f' }));

  const second = await core.listServiceForAllNamespaces({ limit: 2, _continue: first.metadata?._continue });
  t.same(second.items.map((s) => s.metadata?.name), ['c', 'd']);
  t.equal(second.metadata?.resourceVersion, snapshotRv, 'every page carries the snapshot version');
  const third = await core.listServiceForAllNamespaces({ limit: 2, _continue: second.metadata?._continue });
  t.same(third.items.map((s) => s.metadata?.name), ['e']);
  t.notOk(third.metadata?._continue, 'no continue on the last page');

  await server.expireHistory();
  const expired = await apiErrorCode(core.listServiceForAllNamespaces({ limit: 2, _continue: first.metadata?._continue }));
  t.equal(expired.code, 410, 'a continue token older than the history is 410');
  t.match(expired.body.message, /continue parameter is too old/);
});

t.test('IPv6 loopback: bracketed URL, certificate valid for ::1', async (t) => {
  const server = await TestApiServer.start({ host: '::1' });
  t.teardown(() => server.stop());
  t.match(server.url, /^https:\/\/\[::1\]:\d+$/);
  await server.create('nodes', node({ name: 'v6' }));
  t.same((await clientsFor(server).core.listNode()).items.map((n) => n.metadata?.name), ['v6']);
});

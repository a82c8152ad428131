import { Watch } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { kubeConfigFrom, RawWatch, rawRequest, service, TestApiServer } from '../support/apiserver/index.js';

/** The list/watch protocol on the wire, checked without client-node's smoothing. */

async function serverFor(t: Test, options: Parameters<typeof TestApiServer.start>[0] = {}): Promise<TestApiServer> {
  const server = await TestApiServer.start(options);
  t.teardown(() => server.stop());
  return server;
}

function target(server: TestApiServer): { url: string; caPem: string | undefined; token: string | undefined } {
  return { url: server.url, caPem: server.caPem, token: server.token };
}

t.test('a watch from a resourceVersion replays later changes, then streams live ones as chunked JSON lines', async (t) => {
  const server = await serverFor(t);
  const a = await server.create('services', service({ name: 'a' }));
  await server.create('services', service({ name: 'b' }));
  await server.patch('services', { namespace: 'default', name: 'a' }, { metadata: { labels: { x: 'y' } } });
  const watch = await RawWatch.open(target(server), `/api/v1/services?watch=true&resourceVersion=${a.metadata.resourceVersion}`);
  t.teardown(() => watch.close());
  t.equal(watch.status, 200);
  t.equal(watch.headers['transfer-encoding'], 'chunked');
  t.equal(watch.headers['content-type'], 'application/json');
  await watch.waitForEvents(2);
  await server.remove('services', { namespace: 'default', name: 'b' });
  await watch.waitForEvents(3);
  t.same(watch.summary(), ['ADDED b@1002', 'MODIFIED a@1003', 'DELETED b@1004'], 'DELETED carries the deletion version');
  t.equal(watch.events[0]?.object.kind, 'Service', 'watch objects carry kind and apiVersion');
});

t.test('a watch without resourceVersion (or "0") starts with the current state as ADDED events', async (t) => {
  const server = await serverFor(t);
  await server.create('services', service({ name: 'b' }));
  await server.create('services', service({ name: 'a', namespace: 'kube-system' }));
  for (const rv of ['', '&resourceVersion=0']) {
    const watch = await RawWatch.open(target(server), `/api/v1/services?watch=1${rv}`);
    await watch.waitForEvents(2);
    t.same(watch.summary(), ['ADDED b@1001', 'ADDED a@1002'], 'sorted by namespace/name');
    watch.close();
  }
});

t.test('selectors on a watch: starting to match is ADDED, stopping is DELETED with the previous content', async (t) => {
  const server = await serverFor(t);
  await server.create('services', service({ name: 'web' }));
  const watch = await RawWatch.open(target(server), `/api/v1/namespaces/default/services?watch=true&resourceVersion=${await server.currentResourceVersion()}&labelSelector=app%3Dweb`);
  t.teardown(() => watch.close());
  await server.patch('services', { namespace: 'default', name: 'web' }, { metadata: { labels: { app: 'web' } } });
  await server.patch('services', { namespace: 'default', name: 'web' }, { metadata: { annotations: { note: '1' } } });
  await server.patch('services', { namespace: 'default', name: 'web' }, { metadata: { labels: { app: 'api' } } });
  await server.create('services', service({ name: 'other', namespace: 'prod', labels: { app: 'web' } }));
  await watch.waitForEvents(3);
  t.same(watch.summary(), ['ADDED web@1002', 'MODIFIED web@1003', 'DELETED web@1004'], 'the other namespace is not seen');
  t.same(watch.events[2]?.object.metadata?.['labels' as 'name'], { app: 'web' }, 'DELETED shows the last matching content');
});

t.test('bookmarks only when asked for, with the current resourceVersion (client-node Watch)', async (t) => {
  const server = await serverFor(t, { bookmarkIntervalMs: 100 });
  await server.create('services', service({ name: 'a' }));
  const seen: Array<{ type: string; rv: string | undefined }> = [];
  const watch = new Watch(kubeConfigFrom(server.kubeconfigPath));
  const controller = await watch.watch(
    '/api/v1/services',
    { allowWatchBookmarks: true, resourceVersion: await server.currentResourceVersion() },
    (type: string, obj: { metadata?: { resourceVersion?: string } }) => seen.push({ type, rv: obj.metadata?.resourceVersion }),
    () => undefined,
  );
  t.teardown(() => controller.abort());
  await sleep(350);
  await server.create('services', service({ name: 'b' }));
  await server.create('nodes', { metadata: { name: 'n1' } }); // a write to another resource moves the clock too
  await sleep(250);
  const bookmarks = seen.filter((e) => e.type === 'BOOKMARK');
  t.ok(bookmarks.length >= 3, `periodic bookmarks (${bookmarks.length})`);
  t.equal(bookmarks.at(-1)?.rv, await server.currentResourceVersion(), 'a bookmark carries the newest version, including writes to other resources');
  t.same(seen.filter((e) => e.type !== 'BOOKMARK').map((e) => e.type), ['ADDED']);

  const quiet = await RawWatch.open(target(server), `/api/v1/services?watch=true&resourceVersion=${await server.currentResourceVersion()}`);
  await sleep(300);
  t.same(quiet.events, [], 'no bookmarks without allowWatchBookmarks');
  quiet.close();
});

t.test('timeoutSeconds ends the stream cleanly; client-node calls done(null)', async (t) => {
  const server = await serverFor(t);
  const raw = await RawWatch.open(target(server), '/api/v1/nodes?watch=true&timeoutSeconds=1&resourceVersion=0');
  const started = Date.now();
  t.equal(await raw.waitForEnd(3000), 'end');
  t.ok(Date.now() - started >= 900, 'after about one second');

  const watch = new Watch(kubeConfigFrom(server.kubeconfigPath));
  const doneWith = await new Promise<unknown>((resolve) => {
    void watch.watch('/api/v1/nodes', { timeoutSeconds: 1 }, () => undefined, resolve);
  });
  t.equal(doneWith, null);
});

t.test('sendInitialEvents: ADDED for the current state, then a BOOKMARK marking the end', async (t) => {
  const server = await serverFor(t);
  await server.create('services', service({ name: 'a' }));
  const watch = await RawWatch.open(target(server), '/api/v1/services?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true');
  t.teardown(() => watch.close());
  await watch.waitForEvents(2);
  t.equal(watch.events[0]?.type, 'ADDED');
  t.equal(watch.events[1]?.type, 'BOOKMARK');
  t.same(watch.events[1]?.object.metadata?.annotations, { 'k8s.io/initial-events-end': 'true' });
  const invalid = await rawRequest(target(server), 'GET', '/api/v1/services?watch=true&sendInitialEvents=true');
  t.equal(invalid.status, 422, 'sendInitialEvents needs resourceVersionMatch=NotOlderThan');
});

t.test('410 for a watch older than the history: ERROR event (default) or HTTP status', async (t) => {
  const server = await serverFor(t, { eventLogCapacity: 2 });
  const first = await server.create('services', service({ name: 'a' }));
  for (const name of ['b', 'c', 'd']) await server.create('services', service({ name }));
  const path = `/api/v1/services?watch=true&resourceVersion=${first.metadata.resourceVersion}`;

  const inStream = await RawWatch.open(target(server), path);
  t.equal(inStream.status, 200);
  t.equal(await inStream.waitForEnd(), 'end', 'the stream ends after the ERROR');
  t.same(inStream.events, [
    { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version: 1001 (1003)', reason: 'Expired', code: 410 } },
  ], 'a bounded log of 2 events keeps only 1003 and 1004');

  await server.configure({ expiredWatchResponse: 'status' });
  const status = await rawRequest(target(server), 'GET', path);
  t.equal(status.status, 410);
  t.match(JSON.parse(status.body), { kind: 'Status', reason: 'Expired', code: 410 });

  const current = await rawRequest(target(server), 'GET', `/api/v1/services?watch=true&resourceVersion=${await server.currentResourceVersion()}&timeoutSeconds=1`);
  t.equal(current.status, 200, 'the newest version is always watchable');
});

t.test('expireWatches on open streams, and expireHistory for the next ones', async (t) => {
  const server = await serverFor(t);
  await server.create('services', service({ name: 'a' }));
  const rv = await server.currentResourceVersion();
  const open = await RawWatch.open(target(server), `/api/v1/services?watch=true&resourceVersion=${rv}`);
  t.equal(await server.expireWatches({ resource: 'services' }), 1);
  t.equal(await open.waitForEnd(), 'end');
  t.equal(open.events[0]?.type, 'ERROR');
  t.equal(open.events[0]?.object.code, 410);

  await server.expireHistory();
  const next = await RawWatch.open(target(server), `/api/v1/services?watch=true&resourceVersion=${rv}`);
  await next.waitForEnd();
  t.equal(next.events[0]?.object.code, 410, 'a watch from the version the client holds is now too old');
});

t.test('dropped streams are truncated mid-line; closed streams end properly', async (t) => {
  const server = await serverFor(t);
  const rv = await server.currentResourceVersion();
  const dropped = await RawWatch.open(target(server), `/api/v1/services?watch=true&resourceVersion=${rv}`);
  await server.dropWatches({ when: 'nextEvent' });
  await server.create('services', service({ name: 'a' }));
  t.equal(await dropped.waitForEnd(), 'error');
  t.same(dropped.events, []);
  t.match(dropped.partialLine, /^\{"type":"ADDED","object":\{/, 'half an event arrived');
  t.throws(() => JSON.parse(dropped.partialLine));

  const reset = await RawWatch.open(target(server), `/api/v1/services?watch=true&resourceVersion=${await server.currentResourceVersion()}`);
  t.equal(await server.dropWatches({ when: 'reset' }), 1);
  t.equal(await reset.waitForEnd(), 'error', 'a reset between events is not a clean end');
  t.equal(reset.partialLine, '');

  await server.dropNext({ resource: 'services', afterEvents: 1 });
  const later = await RawWatch.open(target(server), `/api/v1/services?watch=true&resourceVersion=${rv}`);
  await server.create('services', service({ name: 'b' }));
  t.equal(await later.waitForEnd(), 'error');
  t.same(later.summary(), ['ADDED a@1001'], 'dropNext delivered one event, then cut the next');

  const closed = await RawWatch.open(target(server), `/api/v1/services?watch=true&resourceVersion=${rv}`);
  await closed.waitForEvents(2);
  t.equal(await server.closeWatches(), 1);
  t.equal(await closed.waitForEnd(), 'end');
  t.equal(closed.partialLine, '');

  await server.closeNextWatches({ resource: 'services', afterEvents: 1 });
  const closedAfterOne = await RawWatch.open(target(server), `/api/v1/services?watch=true&resourceVersion=${rv}`);
  t.equal(await closedAfterOne.waitForEnd(), 'end');
  t.same(closedAfterOne.summary(), ['ADDED a@1001']);

  await server.dropNext({ resource: 'services', verbs: ['list'] });
  await t.rejects(rawRequest(target(server), 'GET', '/api/v1/services'), 'a dropped list body is cut off');
});

t.test('a watch or list for a resourceVersion the server has not reached waits, then answers 504', async (t) => {
  const server = await serverFor(t, { tooLargeResourceVersionWaitMs: 200 });
  const tooNew = Number(await server.currentResourceVersion()) + 5;
  const response = await rawRequest(target(server), 'GET', `/api/v1/services?watch=true&resourceVersion=${tooNew}`);
  t.equal(response.status, 504);
  t.match(JSON.parse(response.body), { reason: 'Timeout', details: { causes: [{ reason: 'ResourceVersionTooLarge' }] } });

  const waiting = rawRequest(target(server), 'GET', `/api/v1/services?resourceVersion=${Number(await server.currentResourceVersion()) + 1}&resourceVersionMatch=NotOlderThan`);
  await server.configure({ tooLargeResourceVersionWaitMs: 2000 });
  await server.create('nodes', { metadata: { name: 'n1' } });
  t.equal((await waiting).status, 200, 'answered once the version exists');
});

t.test('list resourceVersion semantics: Exact rebuilds the past, NotOlderThan and "0" read now', async (t) => {
  const server = await serverFor(t);
  await server.create('services', service({ name: 'a' }));
  const then = await server.currentResourceVersion();
  await server.create('services', service({ name: 'b' }));
  await server.patch('services', { namespace: 'default', name: 'a' }, { metadata: { labels: { v: '2' } } });
  await server.remove('services', { namespace: 'default', name: 'b' });

  const list = async (query: string): Promise<{ rv: string; items: string[] }> => {
    const body = JSON.parse((await rawRequest(target(server), 'GET', `/api/v1/services?${query}`)).body) as { metadata: { resourceVersion: string }; items: Array<{ metadata: { name: string; resourceVersion: string }; kind?: string }> };
    return { rv: body.metadata.resourceVersion, items: body.items.map((i) => `${i.metadata.name}@${i.metadata.resourceVersion}${i.kind ? ' with kind' : ''}`) };
  };
  t.same(await list(`resourceVersion=${then}&resourceVersionMatch=Exact`), { rv: then, items: ['a@1001'] });
  t.same(await list(`resourceVersion=${then}&limit=10`), { rv: then, items: ['a@1001'] }, 'a paginated list at a version is exact');
  t.same(await list(`resourceVersion=${then}`), { rv: '1004', items: ['a@1003'] }, 'without a match: not older than');
  t.same(await list('resourceVersion=0'), { rv: '1004', items: ['a@1003'] });
  t.same(await list(''), { rv: '1004', items: ['a@1003'] }, 'list items have no kind');
  t.equal((await rawRequest(target(server), 'GET', '/api/v1/services?resourceVersion=0&resourceVersionMatch=Exact')).status, 422);
  t.equal((await rawRequest(target(server), 'GET', '/api/v1/services?resourceVersion=abc')).status, 400);
});

t.test('status subresource, allocations and immutability of Services', async (t) => {
  const server = await serverFor(t);
  const lb = await server.create('services', service({ name: 'lb', type: 'LoadBalancer', spec: { externalTrafficPolicy: 'Local' }, ports: [{ name: 'a', port: 80 }, { name: 'b', port: 443 }] }));
  const spec = lb.spec as { clusterIP: string; ports: Array<{ nodePort: number }>; healthCheckNodePort: number; allocateLoadBalancerNodePorts: boolean };
  t.same(spec.ports.map((p) => p.nodePort), [30000, 30001]);
  t.equal(spec.healthCheckNodePort, 30002);
  t.equal(spec.allocateLoadBalancerNodePorts, true);

  const withStatus = { ...lb, status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } };
  const ignored = await rawRequest(target(server), 'PUT', '/api/v1/namespaces/default/services/lb', withStatus);
  t.same((JSON.parse(ignored.body) as { status?: unknown }).status, undefined, 'PUT on the main resource keeps the old status');
  const set = await rawRequest(target(server), 'PUT', '/api/v1/namespaces/default/services/lb/status', withStatus);
  t.same((JSON.parse(set.body) as { status?: unknown }).status, withStatus.status, 'PUT on /status sets it');

  const moved = await rawRequest(target(server), 'PATCH', '/api/v1/namespaces/default/services/lb', { spec: { clusterIP: '10.96.99.99' } }, { 'Content-Type': 'application/merge-patch+json' });
  t.equal(moved.status, 422, 'clusterIP is immutable');
  const dual = await server.create('services', service({ name: 'dual', spec: { ipFamilyPolicy: 'RequireDualStack' } }));
  t.same((dual.spec as { clusterIPs: string[] }).clusterIPs, ['10.96.0.2', 'fd00:10:96::1']);
  const headless = await server.create('services', service({ name: 'headless', clusterIP: 'None' }));
  t.same((headless.spec as { clusterIPs: string[] }).clusterIPs, ['None']);
});

t.test('discovery documents, ServiceCIDRs, unknown paths and verbs', async (t) => {
  const server = await serverFor(t);
  const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const r = await rawRequest(target(server), 'GET', path);
    return { status: r.status, body: r.headers['content-type']?.startsWith('application/json') ? (JSON.parse(r.body) as Record<string, unknown>) : { text: r.body } };
  };
  t.match(await get('/version'), { status: 200, body: { major: '1', gitVersion: /^v1\./ } });
  t.match(await get('/api'), { status: 200, body: { kind: 'APIVersions', versions: ['v1'] } });
  t.match(await get('/apis'), { status: 200, body: { kind: 'APIGroupList' } });
  t.match(await get('/api/v1'), { status: 200, body: { kind: 'APIResourceList', groupVersion: 'v1' } });
  t.match(await get('/apis/discovery.k8s.io/v1'), { status: 200, body: { resources: [{ name: 'endpointslices', kind: 'EndpointSlice', namespaced: true }] } });
  t.match(await get('/apis/networking.k8s.io/v1/servicecidrs'), { status: 200, body: { kind: 'ServiceCIDRList', items: [] } });
  t.match(await get('/healthz'), { status: 200, body: { text: 'ok' } });
  t.match(await get('/api/v1/pods'), { status: 404, body: { kind: 'Status', reason: 'NotFound' } });
  t.match(await get('/api/v1/namespaces/default/nodes'), { status: 404 }, 'nodes are not namespaced');
  const post = await rawRequest(target(server), 'POST', '/api/v1/services', service({ name: 'x' }));
  t.equal(post.status, 405, 'no create through the all-namespaces path');
});

/**
 * The informer supervisor's own rules, against the in-process test API server: bounded back-off,
 * back-off reset after a healthy run, stop() is final even in the middle of a relist (client-node
 * 2.0.1's stop() bug), and the upstream label selector.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestApiServer, pollUntil, service } from '../support/apiserver/index.js';
import { BOOKMARK_INTERVAL_MS, supervise, waitForExact } from './fixtures/harness.js';

async function startServer(t: { teardown(fn: () => unknown): void }): Promise<TestApiServer> {
  const server = await TestApiServer.start({ bookmarkIntervalMs: BOOKMARK_INTERVAL_MS });
  t.teardown(() => server.stop());
  return server;
}

t.test('restart back-off doubles up to its bound, then recovers with the exact state', async (t) => {
  const server = await startServer(t);
  await server.create('services', service({ name: 'a' }));
  const { supervisor, handler, restarts } = supervise(server, 'services', { random: () => 0 });
  t.teardown(() => supervisor.stop());
  supervisor.start();
  await waitForExact(server, 'services', handler);
  await server.waitForWatches({ resource: 'services' });
  await server.failNext({ status: 500, resource: 'services', verbs: ['list'], count: 8 });
  await server.dropWatches({ resource: 'services', when: 'now' });
  await server.create('services', service({ name: 'b' }));
  await waitForExact(server, 'services', handler, 20_000);
  t.same(
    restarts.map((r) => r.delayMs),
    [50, 100, 200, 400, 400, 400, 400, 400, 400],
    'one restart for the drop and one per failed list: 50 ms doubling, capped at 400 ms (maxBackoffMs)',
  );
  t.ok(restarts.every((r) => r.reason === 'error'));
  t.match(supervisor.status().lastError, /HTTP 500/, 'the last error is kept for diagnostics');
});

t.test('the real bound: production timings never wait more than 30 s', async (t) => {
  const { Backoff } = await import('../../src/sources/kubernetes/backoff.js');
  const { DEFAULT_TIMINGS } = await import('../../src/sources/kubernetes/informer-supervisor.js');
  const b = new Backoff({ initialMs: DEFAULT_TIMINGS.initialBackoffMs, maxMs: DEFAULT_TIMINGS.maxBackoffMs, random: () => 0.999 });
  const delays = Array.from({ length: 20 }, () => b.next());
  t.equal(delays[0], Math.round(1000 * (1 + 0.2 * 0.999)), 'first retry after about a second (with jitter)');
  t.ok(delays.every((d) => d <= 30_000), 'never above 30 s, jitter included');
  t.equal(delays.at(-1), 30_000);
  for (let i = 1; i < delays.length; i++) t.ok(delays[i]! >= delays[i - 1]!, `delay ${i} does not shrink`);
});

t.test('back-off starts over after the informer ran healthily for backoffResetAfterMs', async (t) => {
  const server = await startServer(t);
  const { supervisor, handler, restarts } = supervise(server, 'services', { random: () => 0, timings: { backoffResetAfterMs: 800 } });
  t.teardown(() => supervisor.stop());
  supervisor.start();
  await waitForExact(server, 'services', handler);
  for (let i = 0; i < 3; i++) {
    await server.waitForWatches({ resource: 'services' });
    await server.dropWatches({ resource: 'services', when: 'now' });
    await pollUntil(() => (restarts.length === i + 1 ? true : undefined), 5000, 'a restart');
  }
  t.same(restarts.map((r) => r.delayMs), [50, 100, 200], 'quick failures keep doubling');
  await server.waitForWatches({ resource: 'services' });
  await sleep(1000);
  await server.dropWatches({ resource: 'services', when: 'now' });
  await pollUntil(() => (restarts.length === 4 ? true : undefined), 5000, 'a restart');
  t.equal(restarts[3]!.delayMs, 50, 'after a healthy second, the next failure waits the initial delay again');
});

t.test('stop() is final, also when it lands in a relist (client-node stop()-during-relist bug)', async (t) => {
  const server = await startServer(t);
  await server.create('services', service({ name: 'a' }));
  const { supervisor, handler } = supervise(server, 'services', { timings: { initialBackoffMs: 10 } });
  supervisor.start();
  await waitForExact(server, 'services', handler);
  await server.waitForWatches({ resource: 'services' });
  // The informer fails; its replacement's LIST is held for 600 ms; stop() arrives meanwhile.
  await server.delayNext({ delayMs: 600, resource: 'services', verbs: ['list'] });
  const seq = await server.latestRequestSeq();
  await server.dropWatches({ resource: 'services', when: 'now' });
  await server.waitForRequest({ resource: 'services', verb: 'list', afterSeq: seq });
  await sleep(200);
  await supervisor.stop();
  const eventsAtStop = handler.events.length;
  await server.create('services', service({ name: 'after-stop' }));
  await sleep(1500);
  t.equal(handler.events.length, eventsAtStop, 'nothing is delivered after stop()');
  t.same(await server.activeWatches({ resource: 'services' }), [], 'no orphan watch was opened after the delayed list returned');
  t.equal(supervisor.status().state, 'stopped');
});

t.test('a replaced informer cannot deliver: stale-watch restart while the old LIST is still running', async (t) => {
  const server = await startServer(t);
  await server.create('services', service({ name: 'a' }));
  const { supervisor, handler, restarts } = supervise(server, 'services', { timings: { staleAfterMs: 600, listTimeoutMs: 5000 } });
  t.teardown(() => supervisor.stop());
  supervisor.start();
  await waitForExact(server, 'services', handler);
  await server.waitForWatches({ resource: 'services' });
  // The next LIST hangs longer than the staleness limit: the supervisor must replace the informer
  // and ignore whatever the old one does later.
  await server.delayNext({ delayMs: 2000, resource: 'services', verbs: ['list'] });
  await server.dropWatches({ resource: 'services', when: 'now' });
  await server.create('services', service({ name: 'b' }));
  await waitForExact(server, 'services', handler, 10_000);
  t.ok(restarts.some((r) => r.reason === 'stale'), 'the hanging list made the informer stale');
  await sleep(2500);
  t.equal((await server.activeWatches({ resource: 'services' })).length, 1, 'exactly one watch: the old informer opened none after its list returned');
  t.equal(handler.duplicates, 0);
  await server.create('services', service({ name: 'c' }));
  await waitForExact(server, 'services', handler);
});

t.test("upstream's label selector: proxy-name and headless objects are invisible, and reappear when unlabelled", async (t) => {
  const server = await startServer(t);
  await server.create('services', service({ name: 'plain' }));
  await server.create('services', service({ name: 'claimed', labels: { 'service.kubernetes.io/service-proxy-name': 'other' } }));
  await server.create('services', service({ name: 'headless', labels: { 'service.kubernetes.io/headless': '' } }));
  const { supervisor, handler } = supervise(server, 'services');
  t.teardown(() => supervisor.stop());
  supervisor.start();
  await waitForExact(server, 'services', handler);
  t.same([...handler.state.keys()], ['default/plain']);
  const list = await server.waitForRequest({ resource: 'services', verb: 'list' });
  t.equal(list.query.labelSelector, '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless', 'the selector is sent to the server');
  const watch = await server.waitForRequest({ resource: 'services', verb: 'watch' });
  t.equal(watch.query.allowWatchBookmarks, 'true', 'watches ask for bookmarks, as client-go does');
  await server.patch('services', { namespace: 'default', name: 'claimed' }, { metadata: { labels: { 'service.kubernetes.io/service-proxy-name': null } } });
  await waitForExact(server, 'services', handler);
  t.ok(handler.state.has('default/claimed'), 'removing the label makes it visible');
  await server.patch('services', { namespace: 'default', name: 'plain' }, { metadata: { labels: { 'service.kubernetes.io/headless': '' } } });
  await waitForExact(server, 'services', handler);
  t.notOk(handler.state.has('default/plain'), 'adding the label removes it');
});

t.test('client-side rate limit: burst, then qps', async (t) => {
  const { TokenBucket } = await import('../../src/sources/kubernetes/rate-limiter.js');
  const bucket = new TokenBucket(20, 3);
  const started = performance.now();
  const times: number[] = [];
  await Promise.all(Array.from({ length: 7 }, () => bucket.take().then(() => times.push(performance.now() - started))));
  times.sort((a, b) => a - b);
  t.ok(times[2]! < 30, `the first 3 (burst) go at once: ${times.slice(0, 3).map(Math.round)}`);
  t.ok(times[6]! >= 180, `the other 4 wait for tokens at 20/s: last at ${Math.round(times[6]!)} ms`);
  const free = new TokenBucket(-1, 0);
  t.ok(free.unlimited, 'a negative qps disables the limit, as in client-go');
  bucket.stop();
});

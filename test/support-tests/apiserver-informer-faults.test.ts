import type { ListWatch, V1Service } from '@kubernetes/client-node';
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { InformerProbe, kubeConfigFrom, service, serviceInformer, TestApiServer, type InformerOptions } from '../support/apiserver/index.js';

/**
 * What client-node 2.0.1's informer (ListWatch) does under each fault the test server can inject.
 * These tests pin the behaviour the proxy's watch supervision relies on; the README's table is
 * written from them.
 */

interface Rig {
  server: TestApiServer;
  informer: ListWatch<V1Service>;
  probe: InformerProbe;
}

/** A running Service informer that has listed `a` and `b` and has its watch open. */
async function rig(t: Test, options: InformerOptions = {}, serverOptions: Parameters<typeof TestApiServer.start>[0] = {}): Promise<Rig> {
  const server = await TestApiServer.start(serverOptions);
  const informer = serviceInformer(kubeConfigFrom(server.kubeconfigPath), options);
  const probe = new InformerProbe(informer);
  t.teardown(async () => {
    await informer.stop();
    await server.stop();
  });
  await server.create('services', service({ name: 'a' }));
  await server.create('services', service({ name: 'b' }));
  await informer.start();
  await server.waitForWatches({ resource: 'services' });
  return { server, informer, probe };
}

function names(informer: ListWatch<V1Service>): string[] {
  return informer.list().map((s) => s.metadata?.name ?? '').sort();
}

function errorShape(error: unknown): Record<string, unknown> {
  const e = error as { name?: string; message?: string; statusCode?: number; code?: unknown; cause?: { code?: string } };
  return { name: e.name, message: e.message, statusCode: e.statusCode, code: e.code, causeCode: e.cause?.code };
}

t.test('HTTP 410 at watch start: relist, deletes for objects that vanished meanwhile', async (t) => {
  const { server, informer, probe } = await rig(t, {}, { expiredWatchResponse: 'status' });
  await server.stallWatches({ resource: 'services' }); // the informer misses what happens next
  await server.remove('services', { namespace: 'default', name: 'b' });
  await server.create('services', service({ name: 'c' }));
  await server.expireHistory();
  await server.closeWatches({ resource: 'services' });

  await probe.waitForEvent('add', 'c');
  const watches = await server.requests({ resource: 'services', verb: 'watch' });
  t.equal(watches[1]?.status, 410, 'the re-watch from the old version got HTTP 410');
  t.equal((await server.requests({ resource: 'services', verb: 'list' })).length, 2, 'then the informer listed again');
  t.same(probe.events(), ['add a', 'add b', 'delete b', 'add c'], 'relist: delete for the vanished object, add for the new one');
  t.equal(probe.count('error'), 0, 'a 410 is not reported as an error');
  t.same(names(informer), ['a', 'c']);
});

t.test('in-stream ERROR 410: the informer waits for the end of the stream, then relists', async (t) => {
  const { server, informer, probe } = await rig(t);
  await server.stallWatches({ resource: 'services' });
  await server.remove('services', { namespace: 'default', name: 'a' });
  t.equal(await server.expireWatches({ resource: 'services' }), 1, 'ERROR {code: 410} sent on the open watch, then the stream ends');

  await probe.waitForEvent('delete', 'a');
  t.same(probe.events(), ['add a', 'add b', 'delete a']);
  t.same(names(informer), ['b']);
  const [rewatch] = await server.waitForWatches({ resource: 'services', afterId: 1 });
  t.equal(rewatch?.query.resourceVersion, await server.currentResourceVersion(), 'the new watch starts at the relist version');

  // The watch-cache form at watch start: 200, then an ERROR event (the server's default).
  await server.stallWatches({ resource: 'services' });
  await server.remove('services', { namespace: 'default', name: 'b' });
  await server.expireHistory();
  await server.closeWatches({ resource: 'services' });
  await probe.waitForEvent('delete', 'b');
  t.equal(probe.count('error'), 0);
});

t.test('HTTP 500 on a watch: one error event, then the informer stays stopped', async (t) => {
  const { server, informer, probe } = await rig(t);
  await server.failNext({ resource: 'services', verbs: ['watch'], status: 500 });
  await server.closeWatches({ resource: 'services' });
  await probe.waitForEvent('error');
  t.same(errorShape(probe.errors()[0]), { name: 'Error', message: 'Internal Server Error', statusCode: 500, code: undefined, causeCode: undefined });

  await server.create('services', service({ name: 'c' }));
  await sleep(1500);
  t.equal((await server.requests({ resource: 'services', verb: 'watch' })).length, 2, 'no further watch after the error');
  t.same(names(informer), ['a', 'b'], 'the cache is kept but goes stale');

  // start() again resumes from the last resourceVersion: no relist, only the missed change.
  await informer.start();
  await probe.waitForEvent('add', 'c');
  t.equal((await server.requests({ resource: 'services', verb: 'list' })).length, 1, 'start() after an error does not relist');
  t.same(probe.events(), ['add a', 'add b', 'add c']);
});

t.test('429 and 403 on a list or watch stop the informer the same way; Retry-After is not honoured', async (t) => {
  const { server, informer, probe } = await rig(t);
  await server.failNext({ resource: 'services', verbs: ['watch'], status: 429, retryAfterSeconds: 5 });
  await server.closeWatches({ resource: 'services' });
  await probe.waitForEvent('error');
  t.same(errorShape(probe.errors()[0]), { name: 'Error', message: 'Too Many Requests', statusCode: 429, code: undefined, causeCode: undefined });

  // A relist that fails (after a 410) is reported with the API client's error, which has `code`.
  await informer.start();
  await server.waitForWatches({ resource: 'services' });
  await server.failNext({ resource: 'services', verbs: ['list'], status: 403 });
  await server.expireWatches({ resource: 'services' });
  await probe.waitFor((r) => r.verb === 'error' && (r.error as { code?: number }).code === 403);
  t.match(errorShape(probe.errors()[1]), { name: 'Error', code: 403, message: /^HTTP-Code: 403/ });
  await sleep(300);
  t.same(await server.activeWatches({ resource: 'services' }), [], 'stopped: no watch open');
});

t.test('a watch cut mid-event (half a JSON line, then a reset): error "terminated" and the informer stops', async (t) => {
  const { server, informer, probe } = await rig(t);
  await server.dropWatches({ resource: 'services', when: 'nextEvent' });
  await server.create('services', service({ name: 'c' })); // the event that gets cut in half
  await probe.waitForEvent('error');
  t.same(errorShape(probe.errors()[0]), { name: 'TypeError', message: 'terminated', statusCode: undefined, code: undefined, causeCode: 'UND_ERR_SOCKET' });
  await sleep(1200);
  t.equal((await server.requests({ resource: 'services', verb: 'watch' })).length, 1, 'no automatic re-watch in 2.0.1');
  t.notOk(informer.get('c', 'default'), 'the half-sent event was not applied');

  // A supervisor's start(): the watch resumes at the last version and the cut event is replayed.
  await informer.start();
  await probe.waitForEvent('add', 'c');
  t.same(probe.events(), ['add a', 'add b', 'add c']);

  // The same, repeatedly: half a line at once, a reset between events, and a cut event again.
  const kinds = ['now', 'reset', 'nextEvent'] as const;
  for (let round = 0; round < kinds.length; round++) {
    const [open] = await server.waitForWatches({ resource: 'services' });
    const errorsBefore = probe.count('error');
    await server.dropWatches({ resource: 'services', when: kinds[round] });
    await server.create('services', service({ name: `d${round}` }));
    await probe.waitFor((r) => r.verb === 'error', 10000, probe.records.length - 1);
    t.equal(probe.count('error'), errorsBefore + 1, `one error for a drop '${kinds[round]}'`);
    t.match(errorShape(probe.errors().at(-1)), { message: 'terminated', causeCode: 'UND_ERR_SOCKET' });
    await informer.start();
    await probe.waitForEvent('add', `d${round}`);
    await server.waitForWatches({ resource: 'services', afterId: open?.id ?? 0 });
  }
  t.same(names(informer), ['a', 'b', 'c', 'd0', 'd1', 'd2'], 'final state exact after repeated drops');
});

t.test('a cleanly closed watch is re-opened from the last version: at once, then 1 s, 2 s, ... until an event', async (t) => {
  const { server, probe } = await rig(t);
  const opened: number[] = [];
  let last = (await server.activeWatches({ resource: 'services' }))[0]?.id ?? 0;
  for (let i = 0; i < 3; i++) {
    await server.closeWatches({ resource: 'services' });
    const [next] = await server.waitForWatches({ resource: 'services', afterId: last }, 10000);
    last = next?.id ?? last;
    opened.push(next?.startedAt ?? 0);
  }
  const watches = await server.requests({ resource: 'services', verb: 'watch' });
  t.ok(watches.every((w) => w.query.resourceVersion === watches[0]?.query.resourceVersion), 'every re-watch resumes from the same version');
  const gaps = [opened[1]! - opened[0]!, opened[2]! - opened[1]!];
  t.ok(gaps[0]! >= 900 && gaps[0]! < 1900, `second re-watch after ~1 s (was ${gaps[0]} ms)`);
  t.ok(gaps[1]! >= 1900 && gaps[1]! < 3500, `third re-watch after ~2 s (was ${gaps[1]} ms)`);
  t.equal(probe.count('error'), 0, 'clean closes are silent');
  t.equal(probe.count('connect'), 4, "'connect' fires for each attempt (before the back-off sleep)");
});

t.test('a stalled watch is abandoned after the inactivity timeout and re-opened without an error', async (t) => {
  // 2.0.1 aborts a watch after 30 s without data; shortened here through Watch's timeout field.
  const { server, probe } = await rig(t, { watchInactivityTimeoutMs: 800 });
  await server.stallWatches({ resource: 'services' });
  await server.create('services', service({ name: 'c' }));
  await probe.waitForEvent('add', 'c', 5000);
  t.equal(probe.count('error'), 0, 'the TimeoutError is handled internally');

  // Stalled before the response headers: same outcome (the timer also covers the request).
  const [open] = await server.waitForWatches({ resource: 'services' });
  await server.stallNext({ resource: 'services', beforeHeaders: true });
  await server.closeWatches({ resource: 'services' });
  await server.create('services', service({ name: 'd' }));
  await probe.waitForEvent('add', 'd', 5000);
  t.ok((await server.requests({ resource: 'services', verb: 'watch' })).some((r) => r.fault === 'stall' && r.status === undefined));
  t.ok(open);
  t.equal(probe.count('error'), 0);
});

t.test('a delayed list or watch is simply waited for (no client timeout on LIST)', async (t) => {
  const { server, probe } = await rig(t);
  await server.stallWatches({ resource: 'services' }); // so that `c` can only arrive through the relist
  await server.create('services', service({ name: 'c' }));
  await server.delayNext({ resource: 'services', verbs: ['list'], delayMs: 1500 });
  const expiredAt = Date.now();
  await server.expireWatches({ resource: 'services' });
  const added = await probe.waitForEvent('add', 'c', 8000);
  t.ok(added.time - expiredAt >= 1400, `the relist was waited for (${added.time - expiredAt} ms)`);
  t.equal(probe.count('error'), 0);
  const list = (await server.requests({ resource: 'services', verb: 'list' }))[1];
  t.equal(list?.fault, 'delay:1500');
});

t.test("stop() on an open watch fires 'error' with an AbortError", async (t) => {
  const { informer, probe } = await rig(t);
  await informer.stop();
  await probe.waitForEvent('error');
  t.same(errorShape(probe.errors()[0]), { name: 'AbortError', message: 'This operation was aborted', statusCode: undefined, code: 20, causeCode: undefined });
});

t.test('stop() during a relist does not stop the watch that follows it (2.0.1 bug)', async (t) => {
  const { server, informer, probe } = await rig(t);
  await server.delayNext({ resource: 'services', verbs: ['list'], delayMs: 800 });
  const seq = await server.latestRequestSeq();
  await server.expireWatches({ resource: 'services' });
  await server.waitForRequest({ resource: 'services', verb: 'list', afterSeq: seq });
  await informer.stop(); // while the relist is in flight
  const [orphan] = await server.waitForWatches({ resource: 'services', afterId: 1 }, 5000);
  t.ok(orphan, 'a new watch is opened after stop()');
  await server.create('services', service({ name: 'late' }));
  await probe.waitForEvent('add', 'late');
  t.pass('and it still delivers events');
  await informer.stop(); // a second stop() aborts it
  await probe.waitForEvent('error');
});

t.test('a failing initial list: start() resolves anyway, the failure only shows as an error event', async (t) => {
  const server = await TestApiServer.start();
  const informer = serviceInformer(kubeConfigFrom(server.kubeconfigPath));
  const probe = new InformerProbe(informer);
  t.teardown(async () => {
    await informer.stop();
    await server.stop();
  });
  await server.failNext({ resource: 'services', verbs: ['list'], status: 500 });
  await informer.start();
  t.same(probe.records.map((r) => r.verb), ['connect', 'error'], 'by the time start() resolves');
  t.match(errorShape(probe.errors()[0]), { code: 500 });
  t.same(await server.activeWatches(), [], 'no watch is opened');

  await server.create('services', service({ name: 'a' }));
  await informer.start();
  await probe.waitForEvent('add', 'a');
  t.equal((await server.requests({ resource: 'services', verb: 'list' })).length, 2, 'start() retries the list because no version was ever obtained');
});

/**
 * The informer supervisor against the in-process test API server, through every fault the server
 * can inject, several rounds each: after every round the objects the handler holds must be
 * exactly the server's (names and resourceVersions), no change delivered twice, nothing removed
 * that was not held.
 */
import t, { type Test } from 'tap';
import { TestApiServer, node, type ResourceName } from '../support/apiserver/index.js';
import { changeCluster, prng } from './fixtures/cluster-changes.js';
import { FAULTS, runFaultRound } from './fixtures/faults.js';
import { BOOKMARK_INTERVAL_MS, supervise, waitForExact } from './fixtures/harness.js';

const ROUNDS = Number(process.env.KUBE_PROXY_TS_FAULT_ROUNDS ?? 3);

async function faultRounds(t: Test, resource: ResourceName, faults = FAULTS): Promise<void> {
  const server = await TestApiServer.start({ bookmarkIntervalMs: BOOKMARK_INTERVAL_MS });
  t.teardown(() => server.stop());
  await server.create('nodes', node({ name: 'node1', internalIPs: ['10.0.0.1'] }));
  const random = prng(7);
  await changeCluster(server, resource, random, 0, 6);
  const { supervisor, handler, restarts } = supervise(server, resource);
  t.teardown(() => supervisor.stop());
  supervisor.start();
  await waitForExact(server, resource, handler);
  let step = 0;
  for (const fault of faults) {
    for (let round = 1; round <= ROUNDS; round++) {
      const result = await runFaultRound(
        server,
        resource,
        fault,
        () => changeCluster(server, resource, random, ++step, 4),
        () => waitForExact(server, resource, handler, 20_000),
      );
      t.ok(result.took, `${resource}: ${fault.name}, round ${round}: the fault hit (${result.streamsHit} streams, ${result.faultedRequests} requests); state exact (${handler.state.size} objects, ${restarts.length} restarts so far)`);
    }
  }
  t.equal(handler.duplicates, 0, 'no object was delivered twice at the same resourceVersion');
  t.equal(handler.spuriousRemovals, 0, 'nothing was removed that the handler did not hold');
  t.ok(restarts.every((r) => r.delayMs <= 400), 'every restart waited at most maxBackoffMs');
  t.ok(restarts.some((r) => r.reason === 'stale'), 'the staleness timer fired at least once (stalled list / stalled watches)');
  t.equal(supervisor.status().state, 'running');
}

t.test('Services: every fault, repeatedly', (t) => faultRounds(t, 'services'));
t.test('EndpointSlices: every fault, repeatedly', (t) => faultRounds(t, 'endpointslices'));
t.test('own Node: the faults that matter for a single object', (t) =>
  faultRounds(
    t,
    'nodes',
    FAULTS.filter((f) => ['watch dropped mid-event', 'HTTP 500 on lists after a drop', 'ERROR 410 in the stream', 'stalled list', 'every new watch stalls', 'compaction while disconnected'].includes(f.name)),
  ));

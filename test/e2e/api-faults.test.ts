/**
 * The proxy against a misbehaving API server, with real traffic: every fault the test server can
 * inject, repeatedly, alternating between the Services and the EndpointSlices watch. While the
 * faults happen, a Service that exists from the start is probed without pause and must never fail;
 * after every round the programmed ClusterIPs are exactly the API's, and the round's new Service
 * answers from the right backend. A proxy restart while the API is unreachable keeps the rules.
 */
import t from 'tap';
import { countByPod, describeResults, type HttpResult } from '../../src/lab/index.js';
import { ApiLab, ContinuousProbe } from '../sources/fixtures/api-lab.js';
import { FAULTS, runFaultRound } from '../sources/fixtures/faults.js';
import type { ResourceName } from '../support/apiserver/index.js';

const ROUNDS = Number(process.env.KUBE_PROXY_TS_FAULT_ROUNDS ?? 2);

t.test('faults while services are in use', async (t) => {
  const w = await ApiLab.create(t, { watchTimeout: '3s' });
  const { lab } = w;
  const pods = await lab.addPods([
    { name: 'stable-1', node: 'node1' },
    { name: 'stable-2', node: 'node2' },
    { name: 'round-a', node: 'node1' },
    { name: 'round-b', node: 'node2' },
    { name: 'prober', node: 'node1', tcpPorts: [], serve: false },
    { name: 'checker', node: 'node1', tcpPorts: [], serve: false },
  ]);
  const stableIp = await w.putService('stable', 30, [pods[0]!, pods[1]!]);
  await w.startProxy();

  const answeredBy = async (ip: string, pod: string, what: string): Promise<void> => {
    let last: HttpResult[] = [];
    await w.cluster.waitFor(async () => {
      last = await lab.http('checker', ip, 80, { count: 6, timeoutMs: 1500 });
      return last.every((r) => r.ok) && Object.keys(countByPod(last)).join() === pod;
    }, () => `${what} (last: ${describeResults(last)})`, 60_000);
  };
  const exactlyProgrammed = async (): Promise<void> => {
    const services = (await w.api.list('services')).filter((s) => !s.metadata?.labels?.['service.kubernetes.io/service-proxy-name']);
    const want = services.map((s) => (s as { spec?: { clusterIP?: string } }).spec?.clusterIP ?? '').sort();
    let have: string[] = [];
    await w.cluster.waitFor(async () => {
      have = [...(await w.programmedClusterIPs())].sort();
      return have.join() === want.join();
    }, () => `programmed ClusterIPs ${have.join(',')} to equal the API's ${want.join(',')}`, 60_000);
  };
  await answeredBy(stableIp, 'stable-1,stable-2'.split(',').sort().join(), 'the stable Service answers before any fault');

  const probe = new ContinuousProbe(lab, 'prober', stableIp, 80);
  let n = 0;
  let previous: string | undefined;
  for (const fault of FAULTS) {
    for (let round = 1; round <= ROUNDS; round++) {
      // Faults come one at a time, as incidents do: the informers have been healthy for a watch
      // timeout (3 s), so each round starts from the initial back-off (1 s), not from 30 s.
      await new Promise((r) => setTimeout(r, 3500));
      const resource: ResourceName = round % 2 === 1 ? 'services' : 'endpointslices';
      n++;
      const name = `r${n}`;
      const backend = n % 2 === 0 ? 'round-a' : 'round-b';
      let ip = '';
      const result = await runFaultRound(
        w.api,
        resource,
        fault,
        async () => {
          ip = await w.putService(name, 40 + n, [lab.pod(backend)]);
          if (previous) await w.removeService(previous);
          // Move the stable Service's slice through a no-op rewrite: an update event for a live Service.
          await w.api.patch('endpointslices', { namespace: 'default', name: 'stable-ipv4' }, { metadata: { annotations: { round: String(n) } } });
        },
        async () => {
          await answeredBy(ip, backend, `${name} answers from ${backend} after "${fault.name}"`);
          await exactlyProgrammed();
        },
        60_000,
      );
      t.ok(result.took, `${fault.name} on ${resource} (round ${round}): the fault hit (${result.streamsHit} streams, ${result.faultedRequests} requests); ${name} answers, the old one is gone, programmed ClusterIPs equal the API's`);
      previous = name;
    }
  }

  await t.test('a restart while the API is unreachable keeps the rules; the proxy catches up afterwards', async (t) => {
    await w.cluster.stopProxy();
    await w.api.failNext({ status: 503, verbs: ['list'], count: 1_000_000 });
    await w.startProxy({ waitForSync: false });
    await new Promise((r) => setTimeout(r, 8000));
    t.equal(await w.cluster.metric('kubeproxy_sync_proxy_rules_last_timestamp_seconds'), 0, 'no sync while nothing could be listed');
    t.ok((await w.programmedClusterIPs()).has(stableIp), 'the rules programmed before the restart are still there');
    await w.api.clearFaults();
    const ip = await w.putService('after-restart', 90, [lab.pod('round-a')]);
    await answeredBy(ip, 'round-a', 'a Service created meanwhile answers once the API is back');
    await exactlyProgrammed();
    t.pass('caught up');
  });

  await probe.stop();
  t.equal(probe.failures.length, 0, `the stable Service answered all ${probe.requests} probe requests during faults and the restart (failures: ${JSON.stringify(probe.failures.slice(0, 5))})`);
  t.ok(probe.requests > 100, 'and it was probed continuously');
  const restarts = await w.cluster.metric('kubeproxy_ts_informer_restarts_total');
  t.ok(restarts > 0, `informer restarts were counted (${restarts})`);
});

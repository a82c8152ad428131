/**
 * The behaviour scenarios every proxy mode must pass with real packets (issue list and upstream
 * §9): each builds its own pods and services (unique names and addresses), changes manifests,
 * and checks where traffic lands, who the backend saw as the client, and refused-vs-dropped.
 */
import type { Test } from 'tap';
import { countByPod, describeResults, summarize, type HttpResult, type PodInfo, type ProbeResult } from '../../../src/lab/index.js';
import type { World, PortSpec } from './world.js';

export interface ModeChecks {
  /** Whether any rule of the mode exists in node1 (after --cleanup it must not). */
  rulesPresent(world: World): Promise<boolean>;
  /**
   * IPVS mode, as upstream (kubernetes #93456, "no work-around"): a connection from the node
   * itself to an externalTrafficPolicy=Local LB IP takes the VIP on kube-ipvs0 as its source and is
   * not masqueraded, so a remote endpoint's reply never comes back. Pods still reach it.
   */
  readonly hostCannotReachRemoteEndpointOfLocalPolicy?: boolean;
  /**
   * IPVS mode: internalTrafficPolicy=Local without a local endpoint leaves the ClusterIP's virtual
   * server without real servers, and IPVS answers such a connection with ICMP port unreachable
   * (refused) where iptables and nftables DROP it ("has no local endpoints"). Either way it fails.
   */
  readonly emptyVirtualServerRefuses?: boolean;
}

export type Scenario = (t: Test, w: World, checks: ModeChecks) => Promise<void>;

const HTTP: PortSpec[] = [{ name: 'http', port: 80, targetPort: 8080 }];

const okPods = (results: readonly ProbeResult[]): string[] => Object.keys(countByPod(results)).sort();
const allRefused = (results: readonly ProbeResult[]): boolean => results.length > 0 && results.every((r) => !r.ok && r.error === 'refused');
const allTimedOut = (results: readonly ProbeResult[]): boolean => results.length > 0 && results.every((r) => !r.ok && r.error === 'timeout');

/** A client pod on node1 (ClusterIP traffic has to start on the node that runs the proxy). */
async function clientPod(w: World, name: string): Promise<PodInfo> {
  return w.lab.addPod({ name, node: 'node1', tcpPorts: [], serve: false });
}

/** Sends `count` requests until every one is answered by one of `pods` (rules may still be syncing). */
async function expectSpread(t: Test, w: World, from: string, host: string, port: number, pods: readonly string[], opts: { count?: number; sourceAddress?: string } = {}): Promise<HttpResult[]> {
  const count = opts.count ?? 40;
  let results: HttpResult[] = [];
  await w.waitFor(async () => {
    results = await w.lab.http(from, host, port, { count, ...(opts.sourceAddress ? { sourceAddress: opts.sourceAddress } : {}) });
    const s = summarize(results);
    return s.ok === count && okPods(results).join() === [...pods].sort().join();
  }, () => `${from} -> ${host}:${port} answered by ${pods.join(', ')} (last try: ${describeResults(results)})`);
  t.same(okPods(results), [...pods].sort(), `${from} -> ${host}:${port}: every request answered, spread over ${pods.join(', ')}`);
  return results;
}

async function expectOutcome(t: Test, w: World, what: string, probe: () => Promise<readonly ProbeResult[]>, check: (r: readonly ProbeResult[]) => boolean): Promise<void> {
  let last: readonly ProbeResult[] = [];
  await w.waitFor(async () => check((last = await probe())), () => `${what} (last try: ${describeResults(last)})`);
  t.ok(check(last), what);
}

export const clusterIPBalancing: Scenario = async (t, w) => {
  const [, , , client] = await Promise.all([
    w.lab.addPod({ name: 'ci-1', node: 'node1' }),
    w.lab.addPod({ name: 'ci-2', node: 'node1' }),
    w.lab.addPod({ name: 'ci-3', node: 'node2' }),
    clientPod(w, 'ci-client'),
  ]);
  const ip = w.lab.serviceIp(10);
  w.write('clusterip', [w.service('ci', { clusterIP: ip, ports: HTTP }), w.slice('ci', w.lab.pods().filter((p) => p.name.startsWith('ci-') && p.name !== 'ci-client'), HTTP)]);
  const results = await expectSpread(t, w, 'ci-client', ip, 80, ['ci-1', 'ci-2', 'ci-3'], { count: 60 });
  t.ok(results.every((r) => r.ok && r.clientIp === client!.ip), 'pod traffic is not masqueraded: backends see the client pod');
  await expectSpread(t, w, 'node1', ip, 80, ['ci-1', 'ci-2', 'ci-3']);
};

export const nodePort: Scenario = async (t, w) => {
  await w.lab.addPods([{ name: 'np-1', node: 'node1' }, { name: 'np-2', node: 'node2' }]);
  w.write('nodeport', [
    w.service('np', { type: 'NodePort', clusterIP: w.lab.serviceIp(11), ports: [{ ...HTTP[0], nodePort: 30011 }] }),
    w.slice('np', [w.lab.pod('np-1'), w.lab.pod('np-2')], HTTP),
  ]);
  const results = await expectSpread(t, w, 'client', w.lab.nodeIp('node1'), 30011, ['np-1', 'np-2']);
  t.ok(results.every((r) => r.ok && r.clientIp !== w.lab.clientIp('client')), 'NodePort traffic (ETP=Cluster) is masqueraded');
};

export const externalIP: Scenario = async (t, w) => {
  await w.lab.addPods([{ name: 'ext-1', node: 'node1' }, { name: 'ext-2', node: 'node2' }]);
  const ext = w.lab.externalIp(12);
  w.write('externalip', [
    w.service('ext', { clusterIP: w.lab.serviceIp(12), externalIPs: [ext], ports: HTTP }),
    w.slice('ext', [w.lab.pod('ext-1'), w.lab.pod('ext-2')], HTTP),
  ]);
  await expectSpread(t, w, 'client', ext, 80, ['ext-1', 'ext-2']);
};

export const loadBalancerSourceRanges: Scenario = async (t, w) => {
  await w.lab.addPods([{ name: 'lb-1', node: 'node1' }, { name: 'lb-2', node: 'node2' }]);
  const lbIP = w.lab.loadBalancerIp(13);
  const allowed = w.lab.clientIp('client', 'IPv4', 0);
  const blocked = w.lab.clientIp('client', 'IPv4', 1);
  w.write('lb', [
    w.service('lb', { type: 'LoadBalancer', clusterIP: w.lab.serviceIp(13), ports: [{ ...HTTP[0], nodePort: 30013 }], loadBalancerSourceRanges: [`${allowed}/32`] }, { loadBalancer: { ingress: [{ ip: lbIP }] } }),
    w.slice('lb', [w.lab.pod('lb-1'), w.lab.pod('lb-2')], HTTP),
  ]);
  await expectSpread(t, w, 'client', lbIP, 80, ['lb-1', 'lb-2'], { sourceAddress: allowed });
  const fromBlocked = await w.lab.http('client', lbIP, 80, { count: 3, sourceAddress: blocked, timeoutMs: 1500 });
  t.ok(allTimedOut(fromBlocked), `a source outside loadBalancerSourceRanges is dropped (${JSON.stringify(summarize(fromBlocked))})`);
  await expectSpread(t, w, 'client', w.lab.nodeIp('node1'), 30013, ['lb-1', 'lb-2'], { sourceAddress: blocked, count: 10 });
  t.pass('the NodePort of the same service is not subject to source ranges (upstream behaviour)');
};

export const noEndpointsRejects: Scenario = async (t, w) => {
  await clientPod(w, 'ne-client');
  const ip = w.lab.serviceIp(14);
  w.write('noendpoints', [w.service('ne', { type: 'NodePort', clusterIP: ip, ports: [{ ...HTTP[0], nodePort: 30014 }] })]);
  await expectOutcome(t, w, 'ClusterIP without endpoints is refused at once (REJECT, not a timeout)', () => w.lab.http('ne-client', ip, 80, { count: 3 }), allRefused);
  await expectOutcome(t, w, 'its NodePort is refused too', () => w.lab.http('client', w.lab.nodeIp('node1'), 30014, { count: 3 }), allRefused);
};

export const udpService: Scenario = async (t, w) => {
  await w.lab.addPods([{ name: 'udp-1', node: 'node1', tcpPorts: [], udpPorts: [5353] }, { name: 'udp-2', node: 'node2', tcpPorts: [], udpPorts: [5353] }]);
  await clientPod(w, 'udp-client');
  const ip = w.lab.serviceIp(15);
  const dns: PortSpec[] = [{ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }];
  w.write('udp', [w.service('udp', { clusterIP: ip, ports: dns }), w.slice('udp', [w.lab.pod('udp-1'), w.lab.pod('udp-2')], dns)]);
  let results: ProbeResult[] = [];
  await w.waitFor(async () => {
    results = await w.lab.udp('udp-client', ip, 53, { count: 40 });
    return okPods(results).join() === 'udp-1,udp-2';
  }, 'UDP answered by both pods');
  t.same(okPods(results), ['udp-1', 'udp-2'], 'UDP datagrams are balanced across both endpoints');
};

export const dualStack: Scenario = async (t, w) => {
  if (!w.families.includes('IPv6')) {
    t.comment('IPv4-only lab: dual-stack not tested');
    return;
  }
  await w.lab.addPods([{ name: 'ds-1', node: 'node1' }, { name: 'ds-2', node: 'node2' }]);
  await clientPod(w, 'ds-client');
  const v4 = w.lab.serviceIp(16, 'IPv4');
  const v6 = w.lab.serviceIp(16, 'IPv6');
  const pods = [w.lab.pod('ds-1'), w.lab.pod('ds-2')];
  w.write('dualstack', [
    w.service('ds', { clusterIP: v4, clusterIPs: [v4, v6], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack', ports: HTTP }),
    w.slice('ds', pods, HTTP, { family: 'IPv4' }),
    w.slice('ds', pods, HTTP, { family: 'IPv6' }),
  ]);
  await expectSpread(t, w, 'ds-client', v4, 80, ['ds-1', 'ds-2']);
  await expectSpread(t, w, 'ds-client', v6, 80, ['ds-1', 'ds-2']);
};

export const hairpin: Scenario = async (t, w) => {
  await w.lab.addPod({ name: 'hp-1', node: 'node1' });
  const ip = w.lab.serviceIp(17);
  w.write('hairpin', [w.service('hp', { clusterIP: ip, ports: HTTP }), w.slice('hp', [w.lab.pod('hp-1')], HTTP)]);
  const results = await expectSpread(t, w, 'hp-1', ip, 80, ['hp-1'], { count: 5 });
  t.ok(results.every((r) => r.ok && r.clientIp !== w.lab.podIp('hp-1')), 'a pod reaching itself through its service is masqueraded (hairpin)');
};

export const externalTrafficPolicyLocal: Scenario = async (t, w, checks) => {
  await w.lab.addPods([{ name: 'etp-1', node: 'node1' }, { name: 'etp-2', node: 'node1' }, { name: 'etp-3', node: 'node2' }]);
  const lbIP = w.lab.loadBalancerIp(20);
  const hcnp = 32020;
  const svc = w.service('etp', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: hcnp, clusterIP: w.lab.serviceIp(20), ports: [{ ...HTTP[0], nodePort: 30020 }] }, { loadBalancer: { ingress: [{ ip: lbIP }] } });
  const all = [w.lab.pod('etp-1'), w.lab.pod('etp-2'), w.lab.pod('etp-3')];
  w.write('etp', [svc, w.slice('etp', all, HTTP)]);
  const results = await expectSpread(t, w, 'client', lbIP, 80, ['etp-1', 'etp-2']);
  t.ok(results.every((r) => r.ok && r.clientIp === w.lab.clientIp('client')), 'the client IP is preserved');
  await expectSpread(t, w, 'client', w.lab.nodeIp('node1'), 30020, ['etp-1', 'etp-2'], { count: 20 });
  let hc: HttpResult | undefined;
  await w.waitFor(async () => ((hc = (await w.lab.http('client', w.lab.nodeIp('node1'), hcnp))[0]), hc?.ok === true && hc.status === 200), 'health check 200');
  t.match(JSON.parse((hc as { body?: string }).body ?? '{}'), { service: { namespace: 'default', name: 'etp' }, localEndpoints: 2 }, 'health check node port reports 2 local endpoints');

  w.write('etp', [svc, w.slice('etp', [w.lab.pod('etp-3')], HTTP)]);
  await w.waitFor(async () => ((hc = (await w.lab.http('client', w.lab.nodeIp('node1'), hcnp))[0]), hc?.ok === true && hc.status === 503), 'health check 503');
  t.equal((hc as { status: number }).status, 503, 'no local endpoint: health check answers 503');
  await expectOutcome(t, w, 'external traffic with no local endpoint is dropped, not rejected', () => w.lab.http('client', lbIP, 80, { count: 2, timeoutMs: 1500 }), allTimedOut);
  const pod = await clientPod(w, 'etp-client');
  await expectSpread(t, w, pod.name, lbIP, 80, ['etp-3'], { count: 5 });
  t.pass('traffic from a pod still reaches the remote endpoint');
  if (checks.hostCannotReachRemoteEndpointOfLocalPolicy) {
    await expectOutcome(t, w, 'from the node itself it does not (as upstream IPVS)', () => w.lab.http('node1', lbIP, 80, { count: 2, timeoutMs: 1500 }), allTimedOut);
  } else {
    await expectSpread(t, w, 'node1', lbIP, 80, ['etp-3'], { count: 5 });
    t.pass('traffic from the node itself still reaches the remote endpoint (short-circuit)');
  }
};

export const internalTrafficPolicyLocal: Scenario = async (t, w, checks) => {
  await w.lab.addPods([{ name: 'itp-1', node: 'node1' }, { name: 'itp-2', node: 'node2' }]);
  await clientPod(w, 'itp-client');
  const ip = w.lab.serviceIp(21);
  const svc = w.service('itp', { clusterIP: ip, internalTrafficPolicy: 'Local', ports: HTTP });
  w.write('itp', [svc, w.slice('itp', [w.lab.pod('itp-1'), w.lab.pod('itp-2')], HTTP)]);
  await expectSpread(t, w, 'itp-client', ip, 80, ['itp-1'], { count: 30 });
  w.write('itp', [svc, w.slice('itp', [w.lab.pod('itp-2')], HTTP)]);
  const [outcome, expected] = checks.emptyVirtualServerRefuses ? ['refused', allRefused] : ['dropped', allTimedOut];
  await expectOutcome(t, w, `only remote endpoints: ${outcome}`, () => w.lab.http('itp-client', ip, 80, { count: 2, timeoutMs: 1500 }), expected);
};

export const sessionAffinity: Scenario = async (t, w) => {
  await w.lab.addPods([{ name: 'aff-1', node: 'node1' }, { name: 'aff-2', node: 'node1' }, { name: 'aff-3', node: 'node2' }]);
  await clientPod(w, 'aff-client');
  const ip = w.lab.serviceIp(22);
  const pods = [w.lab.pod('aff-1'), w.lab.pod('aff-2'), w.lab.pod('aff-3')];
  w.write('affinity', [w.service('aff', { clusterIP: ip, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: HTTP }), w.slice('aff', pods, HTTP)]);
  let results: HttpResult[] = [];
  await w.waitFor(async () => summarize((results = await w.lab.http('aff-client', ip, 80, { count: 30, concurrency: 1 }))).ok === 30, 'affinity service answering');
  t.equal(okPods(results).length, 1, `30 requests from one client all reach one backend (${okPods(results).join()})`);
  w.write('affinity', [w.service('aff', { clusterIP: ip, ports: HTTP }), w.slice('aff', pods, HTTP)]);
  await expectSpread(t, w, 'aff-client', ip, 80, ['aff-1', 'aff-2', 'aff-3'], { count: 60 });
  t.pass('switching affinity off spreads requests again');
};

export const terminatingFallback: Scenario = async (t, w) => {
  await w.lab.addPods([{ name: 'term-1', node: 'node1' }, { name: 'term-2', node: 'node2' }]);
  await clientPod(w, 'term-client');
  const ip = w.lab.serviceIp(23);
  const svc = w.service('term', { clusterIP: ip, ports: HTTP });
  const pods = [w.lab.pod('term-1'), w.lab.pod('term-2')];
  const terminating = { ready: false, serving: true, terminating: true };
  w.write('term', [svc, w.slice('term', pods, HTTP, { conditions: { 'term-1': terminating, 'term-2': { ready: true } } })]);
  await expectSpread(t, w, 'term-client', ip, 80, ['term-2'], { count: 20 });
  w.write('term', [svc, w.slice('term', pods, HTTP, { conditions: { 'term-1': terminating, 'term-2': terminating } })]);
  await expectSpread(t, w, 'term-client', ip, 80, ['term-1', 'term-2'], { count: 30 });
  t.pass('no ready endpoint: serving+terminating endpoints take the traffic');
  const gone = { ready: false, serving: false, terminating: true };
  w.write('term', [svc, w.slice('term', pods, HTTP, { conditions: { 'term-1': gone, 'term-2': gone } })]);
  await expectOutcome(t, w, 'only non-serving endpoints: refused', () => w.lab.http('term-client', ip, 80, { count: 2 }), allRefused);
};

export const endpointRemovalFollowedLive: Scenario = async (t, w) => {
  await w.lab.addPods([{ name: 'live-1', node: 'node1' }, { name: 'live-2', node: 'node1' }, { name: 'live-3', node: 'node2' }]);
  await clientPod(w, 'live-client');
  const ip = w.lab.serviceIp(24);
  const svc = w.service('live', { clusterIP: ip, ports: HTTP });
  const pods = () => w.lab.pods().filter((p) => /^live-\d$/.test(p.name));
  w.write('live', [svc, w.slice('live', pods(), HTTP)]);
  await expectSpread(t, w, 'live-client', ip, 80, ['live-1', 'live-2', 'live-3']);
  w.write('live', [svc, w.slice('live', pods().filter((p) => p.name !== 'live-2'), HTTP)]);
  await expectSpread(t, w, 'live-client', ip, 80, ['live-1', 'live-3']);
  t.pass('a removed endpoint gets no more traffic');
  await w.lab.addPod({ name: 'live-4', node: 'node2' });
  w.write('live', [svc, w.slice('live', pods().filter((p) => p.name !== 'live-2'), HTTP)]);
  await expectSpread(t, w, 'live-client', ip, 80, ['live-1', 'live-3', 'live-4']);
  t.pass('an added endpoint takes traffic');
};

export const invalidNextToValid: Scenario = async (t, w) => {
  await w.lab.addPod({ name: 'inv-1', node: 'node1' });
  await clientPod(w, 'inv-client');
  const ip = w.lab.serviceIp(25);
  const before = await w.metric('kubeproxy_ts_invalid_objects_total');
  w.write('invalid', [
    w.service('broken', { clusterIP: '10.96.999.1', ports: HTTP }),
    w.service('inv', { clusterIP: ip, ports: HTTP }),
    w.service('badport', { clusterIP: w.lab.serviceIp(26), ports: [{ name: 'x', port: 99999 }] }),
    w.slice('inv', [w.lab.pod('inv-1')], HTTP),
  ]);
  w.writeRaw('garbage', 'this: is: not: yaml: [\n');
  await expectSpread(t, w, 'inv-client', ip, 80, ['inv-1'], { count: 5 });
  await w.waitFor(async () => (await w.metric('kubeproxy_ts_invalid_objects_total')) >= before + 2, 'invalid objects counted');
  t.ok(w.proxy?.running, 'the proxy is still running');
  t.match(w.proxyLog(), /Skipping an invalid object/, 'the log names the skipped object');
  w.remove('garbage');
};

/** Restart: rules stay while the proxy is down, and a new proxy takes over without an outage. */
export const restartKeepsRules: Scenario = async (t, w) => {
  await w.lab.addPods([{ name: 'rs-1', node: 'node1' }, { name: 'rs-2', node: 'node2' }]);
  await clientPod(w, 'rs-client');
  const ip = w.lab.serviceIp(27);
  w.write('restart', [w.service('rs', { clusterIP: ip, ports: HTTP }), w.slice('rs', [w.lab.pod('rs-1'), w.lab.pod('rs-2')], HTTP)]);
  await expectSpread(t, w, 'rs-client', ip, 80, ['rs-1', 'rs-2']);
  const exit = await w.stopProxy();
  t.equal(exit?.code, 0, 'SIGTERM: clean exit');
  const whileDown = await w.lab.http('rs-client', ip, 80, { count: 20 });
  t.equal(summarize(whileDown).ok, 20, 'the rules stay in place while the proxy is down');
  const probing = (async () => {
    let failures = 0;
    for (let i = 0; i < 30; i++) failures += summarize(await w.lab.http("rs-client", ip, 80, { count: 2 })).failed;
    return failures;
  })();
  await w.startProxy();
  t.equal(await probing, 0, 'no request failed while the new proxy took over');
  await expectSpread(t, w, 'rs-client', ip, 80, ['rs-1', 'rs-2']);
};

export const cleanupRemovesEverything: Scenario = async (t, w, checks) => {
  await w.lab.addPod({ name: 'cl-1', node: 'node1' });
  await clientPod(w, 'cl-client');
  const ip = w.lab.serviceIp(28);
  w.write('cleanup', [w.service('cl', { clusterIP: ip, ports: HTTP }), w.slice('cl', [w.lab.pod('cl-1')], HTTP)]);
  await expectSpread(t, w, 'cl-client', ip, 80, ['cl-1'], { count: 5 });
  t.ok(await checks.rulesPresent(w), 'rules are present before cleanup');
  await w.stopProxy();
  const r = await w.runProxyOnce(['--cleanup']);
  t.equal(r.code, 0, `--cleanup exits 0 (${r.stderr.slice(-500)})`);
  t.notOk(await checks.rulesPresent(w), 'no rule of the mode is left');
  const after = await w.lab.http('cl-client', ip, 80, { count: 2, timeoutMs: 1500 });
  t.equal(summarize(after).ok, 0, 'the service no longer answers');
};

export const SERVICE_SCENARIOS = { clusterIPBalancing, nodePort, externalIP, loadBalancerSourceRanges, noEndpointsRejects, udpService, dualStack, hairpin };
export const POLICY_SCENARIOS = { externalTrafficPolicyLocal, internalTrafficPolicyLocal, sessionAffinity, terminatingFallback };
export const LIFECYCLE_SCENARIOS = { endpointRemovalFollowedLive, invalidNextToValid, restartKeepsRules, cleanupRemovesEverything };

/** Runs a group of scenarios in one world with one proxy, as tap subtests. */
export async function runScenarios(t: Test, world: World, scenarios: Record<string, Scenario>, checks: ModeChecks): Promise<void> {
  await world.startProxy();
  for (const [name, scenario] of Object.entries(scenarios)) {
    await t.test(name, async (t) => {
      try {
        await scenario(t, world, checks);
      } catch (err) {
        t.fail(`${name}: ${String(err instanceof Error ? err.message : err)}`);
      }
    });
  }
}

/**
 * /healthz and /livez of the proxy running against the API, as load balancers and the kubelet
 * see them: unhealthy once an update has waited 2 x syncPeriod without being applied (here
 * iptables-restore is made to fail inside node1 only, through a wrapper on the proxy's PATH),
 * healthy again after a successful sync; /healthz (not /livez) follows the Node's eligibility.
 */
import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countByPod, describeResults, type HttpResult } from '../../src/lab/index.js';
import { ApiLab, ContinuousProbe } from '../sources/fixtures/api-lab.js';

/** A directory with iptables-restore / ip6tables-restore wrappers that fail while `marker` exists. */
function failingRestoreTools(): { dir: string; marker: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'kpt-failing-restore-'));
  const marker = join(dir, 'fail');
  for (const tool of ['iptables-restore', 'ip6tables-restore']) {
    const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    writeFileSync(join(dir, tool), `#!/bin/sh\nif [ -e '${marker}' ]; then echo '${tool}: injected failure (test)' >&2; cat >/dev/null; exit 1; fi\nexec '${real}' "$@"\n`);
    chmodSync(join(dir, tool), 0o755);
  }
  return { dir, marker, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Health {
  status: number;
  body: { lastUpdated: string; currentTime: string; nodeEligible?: boolean; healthy: boolean; status?: Record<string, { healthy: boolean; lastUpdated: string }> };
}

t.test('health follows stalled syncs and node eligibility', async (t) => {
  const tools = failingRestoreTools();
  t.teardown(tools.cleanup);
  const w = await ApiLab.create(t, { syncPeriod: '3s' });
  const { lab } = w;
  const pods = await lab.addPods([
    { name: 'web-1', node: 'node1' },
    { name: 'web-2', node: 'node2' },
    { name: 'prober', node: 'node1', tcpPorts: [], serve: false },
  ]);
  const webIp = await w.putService('web', 50, [pods[0]!, pods[1]!]);
  await w.startProxy({ env: { ...process.env, PATH: `${tools.dir}:${process.env.PATH ?? ''}` } });
  const health = async (path: '/healthz' | '/livez'): Promise<Health> => {
    const r = await w.get(10256, path);
    return { status: r.status, body: JSON.parse(r.body) as Health['body'] };
  };
  const answers = async (ip: string, what: string): Promise<void> => {
    let last: HttpResult[] = [];
    await w.cluster.waitFor(async () => {
      last = await lab.http('prober', ip, 80, { count: 4, timeoutMs: 1500 });
      return last.every((r) => r.ok) && Object.keys(countByPod(last)).length > 0;
    }, () => `${what} (last: ${describeResults(last)})`);
  };
  await answers(webIp, 'web answers');
  const healthy = await health('/healthz');
  t.equal(healthy.status, 200);
  t.same(Object.keys(healthy.body).sort(), ['currentTime', 'healthy', 'lastUpdated', 'nodeEligible', 'status'], "upstream's JSON fields");
  t.equal(healthy.body.lastUpdated, healthy.body.currentTime, 'when healthy, lastUpdated is the current time (upstream keeps old clients happy this way)');
  t.same(Object.keys(healthy.body.status ?? {}).sort(), ['IPv4', 'IPv6'], 'one status per family');

  await t.test('syncs fail: unhealthy after 2 x syncPeriod, rules untouched, healthy after recovery', async (t) => {
    const probe = new ContinuousProbe(lab, 'prober', webIp, 80);
    const failuresBefore = await w.cluster.metric('kubeproxy_sync_proxy_rules_iptables_restore_failures_total');
    writeFileSync(tools.marker, '');
    const queuedAt = Date.now();
    const newIp = await w.putService('late', 51, [pods[0]!]);
    await w.cluster.waitFor(async () => (await w.cluster.metric('kubeproxy_sync_proxy_rules_iptables_restore_failures_total')) > failuresBefore, 'a failed iptables-restore');
    t.equal((await health('/healthz')).status, 200, 'a fresh failure is not yet unhealthy');
    await w.cluster.waitFor(async () => (await health('/healthz')).status === 503, '/healthz to turn 503', 30_000);
    const elapsed = Date.now() - queuedAt;
    t.ok(elapsed >= 5500, `503 only after 2 x syncPeriod (6 s) of pending updates (${elapsed} ms)`);
    const sick = await health('/healthz');
    t.equal(sick.body.healthy, false);
    t.equal(sick.body.nodeEligible, true, 'the node is still eligible: it is the proxy that is unhealthy');
    t.ok(Object.values(sick.body.status ?? {}).some((s) => !s.healthy), 'the per-family status says which family is late');
    t.equal((await health('/livez')).status, 503, '/livez is unhealthy too');
    t.ok((await w.cluster.metric('kubeproxy_proxy_healthz_total', { code: '503' })) >= 1, 'kubeproxy_proxy_healthz_total{code="503"} counts it');
    t.ok((await w.cluster.metric('kubeproxy_proxy_livez_total', { code: '503' })) >= 1, 'kubeproxy_proxy_livez_total{code="503"} counts it');
    rmSync(tools.marker);
    await w.cluster.waitFor(async () => (await health('/healthz')).status === 200, '/healthz to recover', 30_000);
    await answers(newIp, 'the Service created during the failures answers after recovery');
    await probe.stop();
    t.equal(probe.failures.length, 0, `the existing Service answered all ${probe.requests} requests while syncs failed`);
  });

  await t.test('node eligibility: the autoscaler taint makes /healthz 503, /livez stays 200', async (t) => {
    await w.api.patch('nodes', { name: 'node1' }, { spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }] } });
    await w.cluster.waitFor(async () => (await health('/healthz')).status === 503, '/healthz to turn 503 for a draining node');
    const h = await health('/healthz');
    t.equal(h.body.nodeEligible, false);
    t.equal(h.body.healthy, true, 'the proxy itself is healthy');
    const l = await health('/livez');
    t.equal(l.status, 200, '/livez ignores node eligibility');
    t.notOk('nodeEligible' in l.body, '/livez has no nodeEligible field');
    await w.api.patch('nodes', { name: 'node1' }, { spec: { taints: null } });
    await w.cluster.waitFor(async () => (await health('/healthz')).status === 200, '/healthz back to 200 without the taint');
    await w.api.remove('nodes', { name: 'node1' });
    await w.cluster.waitFor(async () => (await health('/healthz')).status === 503, '/healthz 503 once the Node is deleted');
    t.pass('a deleted Node is not eligible');
  });
});

/**
 * The proxy (iptables mode, --kubeconfig) in a lab node follows a live API server running in
 * another lab namespace: the readiness gate, creates/updates/deletes checked with real traffic,
 * upstream's metric names on /metrics, /configz and /proxyMode, and network programming latency
 * from the EndpointSlice annotation.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROXY_MAIN } from '../../src/lab/cluster.js';
import { countByPod, describeResults, type HttpResult } from '../../src/lab/index.js';
import { ApiLab } from '../sources/fixtures/api-lab.js';
import { UPSTREAM_METRICS } from '../sources/fixtures/upstream-metrics.js';

const okPods = (rs: readonly HttpResult[]): string[] => Object.keys(countByPod(rs)).sort();

t.test('the proxy follows a live API server', async (t) => {
  const w = await ApiLab.create(t);
  const { lab } = w;
  const [web1, web2] = await lab.addPods([
    { name: 'web-1', node: 'node1' },
    { name: 'web-2', node: 'node2' },
    { name: 'web-3', node: 'node2' },
    { name: 'probe', node: 'node1', tcpPorts: [], serve: false },
  ]);
  const expect = async (ip: string, port: number, pods: string[], what: string): Promise<void> => {
    let last: HttpResult[] = [];
    await w.cluster.waitFor(async () => {
      last = await lab.http('probe', ip, port, { count: 30, timeoutMs: 1500 });
      return last.every((r) => r.ok) && okPods(last).join() === pods.join();
    }, () => `${what} (last: ${describeResults(last)})`);
    t.same(okPods(last), pods, what);
  };
  const expectDead = async (ip: string, port: number, what: string): Promise<void> => {
    let last: HttpResult[] = [];
    await w.cluster.waitFor(async () => {
      last = await lab.http('probe', ip, port, { count: 3, timeoutMs: 1000 });
      return last.every((r) => !r.ok);
    }, () => `${what} (last: ${describeResults(last)})`);
    t.pass(what);
  };

  // Readiness gate: the first lists fail for a while; nothing may be programmed until both succeed.
  const webIp = await w.putService('web', 20, [web1!, web2!]);
  await w.api.failNext({ status: 500, resource: 'endpointslices', verbs: ['list'], count: 2 });
  await w.startProxy({ waitForSync: false });
  await w.cluster.waitFor(async () => (await w.api.requests({ resource: 'endpointslices', verb: 'list' })).filter((r) => r.status === 500).length === 2, 'two failed EndpointSlice lists');
  t.equal(await w.cluster.metric('kubeproxy_sync_proxy_rules_last_timestamp_seconds'), 0, 'no sync while EndpointSlices have not been listed');
  t.equal((await w.get(10256, '/healthz')).status, 200, '/healthz is healthy while waiting for the first lists (upstream starts healthy)');
  t.same([...(await w.programmedClusterIPs())], [], 'no service rules yet');
  await expect(webIp, 80, ['web-1', 'web-2'], 'after the lists succeed, the Service answers from both backends');

  await t.test('create, update and delete through the API', async (t) => {
    await w.putSlice('web', [web2!, lab.pod('web-3')]);
    await expect(webIp, 80, ['web-2', 'web-3'], 'EndpointSlice update: backends follow');
    await w.putService('web', 20, [web2!, lab.pod('web-3')], { ports: [{ name: 'http', port: 81, targetPort: 8080 }] });
    await expect(webIp, 81, ['web-2', 'web-3'], 'Service port update: the new port answers');
    await expectDead(webIp, 80, 'and the old port no longer does');
    const apiIp = await w.putService('api', 21, [web1!]);
    await expect(apiIp, 80, ['web-1'], 'a new Service answers');
    await w.api.patch('services', { namespace: 'default', name: 'api' }, { metadata: { labels: { 'service.kubernetes.io/service-proxy-name': 'someone-else' } } });
    await expectDead(apiIp, 80, 'a Service claimed by another proxy (service-proxy-name label) is dropped');
    await w.api.patch('services', { namespace: 'default', name: 'api' }, { metadata: { labels: { 'service.kubernetes.io/service-proxy-name': null } } });
    await expect(apiIp, 80, ['web-1'], 'and comes back when the label goes');
    await w.removeService('api');
    await expectDead(apiIp, 80, 'a deleted Service stops answering');
    t.same([...(await w.programmedClusterIPs())], [webIp], 'exactly the live Service is programmed');
  });

  await t.test("metrics: upstream's names, types and buckets; process metrics; /proxyMode; /configz", async (t) => {
    const text = await w.cluster.scrape();
    const types = new Map<string, string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
    for (const [name, type] of Object.entries(UPSTREAM_METRICS.iptables)) t.equal(types.get(name), type, `${name} is exposed as a ${type}`);
    const ours = [...types.keys()].filter((n) => n.startsWith('kubeproxy_') && !(n in UPSTREAM_METRICS.iptables));
    t.ok(ours.every((n) => n.startsWith('kubeproxy_ts_')), `no kubeproxy_* name beyond upstream's except our kubeproxy_ts_* ones (${ours.join(', ')})`);
    t.notOk(types.has('kubeproxy_sync_proxy_rules_nftables_sync_failures_total'), 'nftables metrics are not registered in iptables mode, as upstream');
    const le = (name: string): string[] => [...new Set([...text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"`, 'gm'))].map((m) => m[1]!))];
    t.same(le('kubeproxy_sync_proxy_rules_duration_seconds'), [...Array.from({ length: 15 }, (_, i) => String(0.001 * 2 ** i)), '+Inf'], 'sync duration buckets: ExponentialBuckets(0.001, 2, 15)');
    t.ok(/kubeproxy_sync_proxy_rules_duration_seconds_count\{ip_family="IPv4"\} [1-9]/.test(text), 'sync durations are observed per ip_family');
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) t.ok(types.has(name), `process metric ${name}`);
    t.ok(types.has('kubeproxy_ts_informer_restarts_total'), 'informer restarts are counted');
    t.equal((await w.get(10249, '/proxyMode')).body, 'iptables');
    const configz = JSON.parse((await w.get(10249, '/configz')).body) as Record<string, { mode?: string; clientConnection?: { kubeconfig?: string } }>;
    t.equal(configz['kubeproxy.config.k8s.io']?.clientConnection?.kubeconfig, w.api.kubeconfigPath, '/configz shows the effective configuration');
    t.equal((await w.get(10249, '/healthz')).body, 'ok');
  });

  await t.test('network programming latency from endpoints.kubernetes.io/last-change-trigger-time', async (t) => {
    const count = (): Promise<number> => w.cluster.metric('kubeproxy_network_programming_duration_seconds_count', { ip_family: 'IPv4' });
    const sum = (): Promise<number> => w.cluster.metric('kubeproxy_network_programming_duration_seconds_sum', { ip_family: 'IPv4' });
    const before = { count: await count(), sum: await sum() };
    // A trigger time from before the proxy started must not be measured (it would inflate the SLI).
    await w.putSlice('web', [web1!, web2!], { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date(Date.now() - 3_600_000).toISOString() } });
    await expect(webIp, 81, ['web-1', 'web-2'], 'old trigger time: the change is programmed');
    t.equal(await count(), before.count, 'and not observed');
    const changedAt = new Date(Date.now() - 1500);
    // RFC 3339 with nanoseconds, as the EndpointSlice controller writes it.
    const stamp = changedAt.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
    await w.putSlice('web', [web2!], { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': stamp } });
    await expect(webIp, 81, ['web-2'], 'new trigger time: the change is programmed');
    await w.cluster.waitFor(async () => (await count()) === before.count + 1, 'one latency observation');
    const observed = (await sum()) - before.sum;
    t.ok(observed >= 1.5 && observed < 15, `observed latency ${observed.toFixed(3)} s: at least the 1.5 s the change was back-dated, and not more than the test took`);
    const buckets = [...(await w.cluster.scrape()).matchAll(/^kubeproxy_network_programming_duration_seconds_bucket\{[^}]*ip_family="IPv4"[^}]*\}/gm)].length;
    t.equal(buckets, 3 + 59 + 12 + 7 + 1, 'upstream buckets: 0, 0.25, 0.5, 1..59, 60..115, 120..300, +Inf');
  });

  await t.test("drop-in: kubeadm's DaemonSet command line and ConfigMap; a ConfigMap change restarts the proxy", async (t) => {
    await w.cluster.stopProxy();
    const dir = mkdtempSync(join(tmpdir(), 'kpt-kubeadm-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const configFile = join(dir, 'config.conf');
    const clusterCIDR = w.cluster.families.map((f) => lab.topology.clusterCidrs[f]).join(',');
    // What kubeadm writes into the kube-proxy ConfigMap (zero values mean "default" upstream).
    const kubeadmConfig = [
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
      'kind: KubeProxyConfiguration',
      'bindAddress: 0.0.0.0',
      'clientConnection:',
      '  acceptContentTypes: ""',
      '  burst: 0',
      '  contentType: ""',
      `  kubeconfig: ${w.api.kubeconfigPath}`,
      '  qps: 0',
      `clusterCIDR: ${clusterCIDR}`,
      'configSyncPeriod: 0s',
      'healthzBindAddress: ""',
      'iptables:',
      '  masqueradeAll: false',
      '  masqueradeBit: null',
      '  minSyncPeriod: 0s',
      '  syncPeriod: 0s',
      'logging:',
      '  flushFrequency: 0',
      '  verbosity: 0',
      'metricsBindAddress: ""',
      'mode: ""',
      'nodePortAddresses: null',
      'oomScoreAdj: null',
      '',
    ].join('\n');
    writeFileSync(configFile, kubeadmConfig);
    // kubeadm's DaemonSet: `kube-proxy --config=/var/lib/kube-proxy/config.conf --hostname-override=$(NODE_NAME)`.
    const proc = lab.spawn('node1', [process.execPath, PROXY_MAIN, `--config=${configFile}`, '--hostname-override=node1']);
    w.cluster.proxy = proc;
    await w.cluster.waitFor(async () => (await w.cluster.metric('kubeproxy_sync_proxy_rules_last_timestamp_seconds')) > 0, 'the first sync with the kubeadm configuration', 60_000);
    await expect(webIp, 81, ['web-2'], 'the Service answers under the kubeadm configuration');
    const configz = JSON.parse((await w.get(10249, '/configz')).body) as Record<string, { clusterCIDR?: string; iptables?: { syncPeriod?: string; minSyncPeriod?: string } }>;
    t.same(configz['kubeproxy.config.k8s.io']?.iptables, { masqueradeAll: false, masqueradeBit: 14, localhostNodePorts: true, syncPeriod: '30s', minSyncPeriod: '1s' }, "kubeadm's zero periods read as upstream reads them");
    t.equal(configz['kubeproxy.config.k8s.io']?.clusterCIDR, clusterCIDR);
    writeFileSync(configFile, `${kubeadmConfig}# edited\n`);
    const exit = await Promise.race([proc.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000))]);
    t.equal(exit?.code, 1, 'an edited --config file makes the proxy exit 1, to be restarted with it (as upstream)');
    t.match(proc.stderr, /configuration file was updated/);
    await expect(webIp, 81, ['web-2'], 'and its rules stay in place after it exited');
  });
});

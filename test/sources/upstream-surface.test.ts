/**
 * What dashboards, alerts and load balancers see, without a lab: the metrics each mode registers
 * (names, types, labels, buckets) against upstream's list, and the /healthz and /livez bodies.
 */
import t from 'tap';
import { ProxyMetrics } from '../../src/server/metrics.js';
import { ProxyHealth } from '../../src/server/proxy-health.js';
import { goTime, healthBody } from '../../src/server/health-server.js';
import { UPSTREAM_LABELS, UPSTREAM_METRICS } from './fixtures/upstream-metrics.js';

t.test('each mode registers exactly upstream metrics (plus our kubeproxy_ts_* ones)', async (t) => {
  for (const mode of ['iptables', 'ipvs', 'nftables'] as const) {
    const metrics = new ProxyMetrics({ mode, processMetrics: false });
    const exposed = new Map((await metrics.registry.getMetricsAsJSON()).map((m) => [m.name, m]));
    const ours = [...exposed.keys()].filter((n) => n.startsWith('kubeproxy_ts_'));
    const upstream = [...exposed.keys()].filter((n) => !n.startsWith('kubeproxy_ts_')).sort();
    t.same(upstream, Object.keys(UPSTREAM_METRICS[mode]).sort(), `${mode}: the same names as upstream's RegisterMetrics(${mode})`);
    for (const [name, type] of Object.entries(UPSTREAM_METRICS[mode])) t.equal(String(exposed.get(name)?.type), type, `${mode}: ${name} is a ${type}`);
    t.same(ours, ['kubeproxy_ts_invalid_objects_total'], `${mode}: our own metrics are prefixed kubeproxy_ts_`);
  }
});

t.test("labels and buckets are upstream's", async (t) => {
  const metrics = new ProxyMetrics({ processMetrics: false });
  const byName = new Map(Object.values(metrics).filter((m) => m && typeof m === 'object' && 'name' in m).map((m) => [(m as { name: string }).name, m as { labelNames?: string[]; upperBounds?: number[] }]));
  for (const [name, labels] of Object.entries(UPSTREAM_LABELS)) t.same(byName.get(name)?.labelNames ?? [], labels, `${name}: labels ${labels.join(', ') || '(none)'}`);
  t.same(byName.get('kubeproxy_sync_proxy_rules_duration_seconds')?.upperBounds, Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i), 'ExponentialBuckets(0.001, 2, 15)');
  const np = byName.get('kubeproxy_network_programming_duration_seconds')!.upperBounds!;
  t.same(np.slice(0, 4), [0, 0.25, 0.5, 1]);
  t.equal(np.length, 3 + 59 + 12 + 7);
  t.same(np.slice(-8), [115, 120, 150, 180, 210, 240, 270, 300]);
});

t.test('process metrics come with every mode', async (t) => {
  const names = (await new ProxyMetrics({ mode: 'iptables' }).registry.getMetricsAsJSON()).map((m) => m.name);
  for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds']) t.ok(names.includes(n), n);
});

t.test('/healthz and /livez bodies as upstream writes them', async (t) => {
  let now = Date.parse('2026-01-02T03:04:05.678Z');
  const health = new ProxyHealth(60_000, () => now);
  t.same(healthBody(health.status(), true), { lastUpdated: '2026-01-02T03:04:05.678Z', currentTime: '2026-01-02T03:04:05.678Z', nodeEligible: true, healthy: true }, 'before any sync: healthy, no per-family status');
  health.updated('IPv4');
  health.updated('IPv6');
  now += 1000;
  health.queued('IPv6');
  now += 60_000;
  const body = healthBody(health.status(), true);
  t.equal(body.healthy, false, 'an update pending for healthTimeout makes it unhealthy');
  t.equal(body.lastUpdated, '2026-01-02T03:04:05.678Z', 'unhealthy: lastUpdated is the last successful update');
  t.same(body.status, { IPv4: { lastUpdated: '2026-01-02T03:04:05.678Z', healthy: true }, IPv6: { lastUpdated: '2026-01-02T03:04:05.678Z', healthy: false } });
  t.notOk('nodeEligible' in healthBody(health.status()), '/livez has no nodeEligible');
  health.updated('IPv6');
  const ok = healthBody(health.status(), false);
  t.equal(ok.healthy, true);
  t.equal(ok.lastUpdated, ok.currentTime, 'healthy: lastUpdated is now, for old clients');
  t.equal(goTime(0), '0001-01-01T00:00:00Z', "Go's zero time");
  t.equal(goTime(Date.parse('2026-01-02T03:04:05.100Z')), '2026-01-02T03:04:05.1Z', 'fraction without trailing zeros, as RFC3339Nano');
  t.equal(goTime(Date.parse('2026-01-02T03:04:05.000Z')), '2026-01-02T03:04:05Z');
});

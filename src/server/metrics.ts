import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets, type Metric } from 'prom-client';

/** Upstream's sync duration buckets: ExponentialBuckets(0.001, 2, 15), 1 ms to about 16 s. */
const SYNC_BUCKETS = exponentialBuckets(0.001, 2, 15);

/**
 * Upstream's network programming buckets: 0.25, 0.5, 1..59 by 1, 60..115 by 5, 120..300 by 30,
 * after a leading 0 (upstream's merge() starts from make([]float64, 1), so le="0" exists there).
 */
function networkProgrammingBuckets(): number[] {
  const b = [0, 0.25, 0.5];
  for (let s = 1; s <= 59; s++) b.push(s);
  for (let s = 60; s <= 115; s += 5) b.push(s);
  for (let s = 120; s <= 300; s += 30) b.push(s);
  return b;
}

/**
 * The metrics kube-proxy exposes (pkg/proxy/metrics), with upstream's names, types, labels and
 * buckets so existing dashboards and alerts keep working, plus Node.js process metrics.
 */
export class ProxyMetrics {
  readonly registry = new Registry();

  readonly syncProxyRulesDuration = new Histogram({
    name: 'kubeproxy_sync_proxy_rules_duration_seconds',
    help: 'SyncProxyRules latency in seconds',
    labelNames: ['ip_family'],
    buckets: SYNC_BUCKETS,
    registers: [],
  });
  readonly syncFullProxyRulesDuration = new Histogram({
    name: 'kubeproxy_sync_full_proxy_rules_duration_seconds',
    help: 'SyncProxyRules latency in seconds for full resyncs',
    labelNames: ['ip_family'],
    buckets: SYNC_BUCKETS,
    registers: [],
  });
  readonly syncPartialProxyRulesDuration = new Histogram({
    name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds',
    help: 'SyncProxyRules latency in seconds for partial resyncs',
    labelNames: ['ip_family'],
    buckets: SYNC_BUCKETS,
    registers: [],
  });
  readonly syncProxyRulesLastTimestamp = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
    help: 'The last time proxy rules were successfully synced',
    labelNames: ['ip_family'],
    registers: [],
  });
  readonly syncProxyRulesLastQueuedTimestamp = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
    help: 'The last time a sync of proxy rules was queued',
    labelNames: ['ip_family'],
    registers: [],
  });
  readonly networkProgrammingDuration = new Histogram({
    name: 'kubeproxy_network_programming_duration_seconds',
    help: 'In Cluster Network Programming Latency in seconds',
    labelNames: ['ip_family'],
    buckets: networkProgrammingBuckets(),
    registers: [],
  });
  readonly endpointChangesPending = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
    help: 'Pending proxy rules Endpoint changes',
    registers: [],
  });
  readonly endpointChangesTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total',
    help: 'Cumulative proxy rules Endpoint changes',
    registers: [],
  });
  readonly serviceChangesPending = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_service_changes_pending',
    help: 'Pending proxy rules Service changes',
    registers: [],
  });
  readonly serviceChangesTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_service_changes_total',
    help: 'Cumulative proxy rules Service changes',
    registers: [],
  });
  readonly iptablesRulesTotal = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_iptables_total',
    help: 'Total number of iptables rules owned by kube-proxy',
    labelNames: ['table', 'ip_family'],
    registers: [],
  });
  readonly iptablesRulesLast = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_iptables_last',
    help: 'Number of iptables rules written by kube-proxy in last sync',
    labelNames: ['table', 'ip_family'],
    registers: [],
  });
  readonly iptablesRestoreFailuresTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
    help: 'Cumulative proxy iptables restore failures',
    labelNames: ['ip_family'],
    registers: [],
  });
  readonly iptablesPartialRestoreFailuresTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total',
    help: 'Cumulative proxy iptables partial restore failures',
    labelNames: ['ip_family'],
    registers: [],
  });
  readonly nftablesSyncFailuresTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total',
    help: 'Cumulative proxy nftables sync failures',
    labelNames: ['ip_family'],
    registers: [],
  });
  readonly nftablesCleanupFailuresTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_nftables_cleanup_failures_total',
    help: 'Cumulative proxy nftables cleanup failures',
    labelNames: ['ip_family'],
    registers: [],
  });
  readonly noLocalEndpointsTotal = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
    help: 'Number of services with a Local traffic policy and no endpoints',
    labelNames: ['traffic_policy', 'ip_family'],
    registers: [],
  });
  readonly healthzTotal = new Counter({
    name: 'kubeproxy_proxy_healthz_total',
    help: 'Cumulative proxy healthz HTTP status',
    labelNames: ['code'],
    registers: [],
  });
  readonly livezTotal = new Counter({
    name: 'kubeproxy_proxy_livez_total',
    help: 'Cumulative proxy livez HTTP status',
    labelNames: ['code'],
    registers: [],
  });
  readonly conntrackReconcilerSyncDuration = new Histogram({
    name: 'kubeproxy_conntrack_reconciler_sync_duration_seconds',
    help: 'ReconcileConntrackFlowsLatency latency in seconds',
    labelNames: ['ip_family'],
    buckets: SYNC_BUCKETS,
    registers: [],
  });
  readonly conntrackReconcilerDeletedEntriesTotal = new Counter({
    name: 'kubeproxy_conntrack_reconciler_deleted_entries_total',
    help: 'Cumulative conntrack flows deleted by conntrack reconciler',
    labelNames: ['ip_family'],
    registers: [],
  });
  /** Ours: objects skipped because they are malformed (upstream never sees them: the API validates). */
  readonly invalidObjectsTotal = new Counter({
    name: 'kubeproxy_ts_invalid_objects_total',
    help: 'Services, EndpointSlices and Nodes skipped because they are malformed',
    labelNames: ['kind'],
    registers: [],
  });

  /**
   * Registers what upstream's RegisterMetrics(mode) registers for `mode` (all of them when no
   * mode is given). Metrics of other modes still exist as objects, so code may update them, but
   * /metrics does not show them, as upstream does not.
   */
  constructor(opts: { processMetrics?: boolean; mode?: string } = {}) {
    const common: Metric<string>[] = [
      this.syncProxyRulesDuration,
      this.syncProxyRulesLastQueuedTimestamp,
      this.syncProxyRulesLastTimestamp,
      this.endpointChangesPending,
      this.endpointChangesTotal,
      this.serviceChangesPending,
      this.serviceChangesTotal,
      this.healthzTotal,
      this.livezTotal,
      this.networkProgrammingDuration,
      this.noLocalEndpointsTotal,
      this.conntrackReconcilerSyncDuration,
      this.conntrackReconcilerDeletedEntriesTotal,
      this.invalidObjectsTotal,
    ];
    const iptables: Metric<string>[] = [
      this.syncFullProxyRulesDuration,
      this.syncPartialProxyRulesDuration,
      this.iptablesRestoreFailuresTotal,
      this.iptablesPartialRestoreFailuresTotal,
      this.iptablesRulesTotal,
      this.iptablesRulesLast,
    ];
    const ipvs: Metric<string>[] = [this.iptablesRestoreFailuresTotal];
    const nftables: Metric<string>[] = [this.syncFullProxyRulesDuration, this.syncPartialProxyRulesDuration, this.nftablesSyncFailuresTotal, this.nftablesCleanupFailuresTotal];
    const byMode: Record<string, readonly Metric<string>[]> = { iptables, ipvs, nftables };
    const selected = opts.mode === undefined ? [...iptables, ...nftables] : (byMode[opts.mode] ?? []);
    for (const m of new Set([...common, ...selected])) this.registry.registerMetric(m);
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';

/** Upstream's sync duration buckets: ExponentialBuckets(0.001, 2, 15), 1 ms to about 16 s. */
const SYNC_BUCKETS = exponentialBuckets(0.001, 2, 15);

/** Upstream's network programming buckets: 0.25, 0.5, 1..59 by 1, 60..115 by 5, 120..300 by 30. */
function networkProgrammingBuckets(): number[] {
  const b = [0.25, 0.5];
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
    registers: [this.registry],
  });
  readonly syncFullProxyRulesDuration = new Histogram({
    name: 'kubeproxy_sync_full_proxy_rules_duration_seconds',
    help: 'SyncProxyRules latency in seconds for full resyncs',
    labelNames: ['ip_family'],
    buckets: SYNC_BUCKETS,
    registers: [this.registry],
  });
  readonly syncPartialProxyRulesDuration = new Histogram({
    name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds',
    help: 'SyncProxyRules latency in seconds for partial resyncs',
    labelNames: ['ip_family'],
    buckets: SYNC_BUCKETS,
    registers: [this.registry],
  });
  readonly syncProxyRulesLastTimestamp = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
    help: 'The last time proxy rules were successfully synced',
    labelNames: ['ip_family'],
    registers: [this.registry],
  });
  readonly syncProxyRulesLastQueuedTimestamp = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
    help: 'The last time a sync of proxy rules was queued',
    labelNames: ['ip_family'],
    registers: [this.registry],
  });
  readonly networkProgrammingDuration = new Histogram({
    name: 'kubeproxy_network_programming_duration_seconds',
    help: 'In Cluster Network Programming Latency in seconds',
    labelNames: ['ip_family'],
    buckets: networkProgrammingBuckets(),
    registers: [this.registry],
  });
  readonly endpointChangesPending = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
    help: 'Pending proxy rules Endpoint changes',
    registers: [this.registry],
  });
  readonly endpointChangesTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total',
    help: 'Cumulative proxy rules Endpoint changes',
    registers: [this.registry],
  });
  readonly serviceChangesPending = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_service_changes_pending',
    help: 'Pending proxy rules Service changes',
    registers: [this.registry],
  });
  readonly serviceChangesTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_service_changes_total',
    help: 'Cumulative proxy rules Service changes',
    registers: [this.registry],
  });
  readonly iptablesRulesTotal = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_iptables_total',
    help: 'Total number of iptables rules owned by kube-proxy',
    labelNames: ['table', 'ip_family'],
    registers: [this.registry],
  });
  readonly iptablesRulesLast = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_iptables_last',
    help: 'Number of iptables rules written by kube-proxy in last sync',
    labelNames: ['table', 'ip_family'],
    registers: [this.registry],
  });
  readonly iptablesRestoreFailuresTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
    help: 'Cumulative proxy iptables restore failures',
    labelNames: ['ip_family'],
    registers: [this.registry],
  });
  readonly iptablesPartialRestoreFailuresTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_iptables_partial_restore_failures_total',
    help: 'Cumulative proxy iptables partial restore failures',
    labelNames: ['ip_family'],
    registers: [this.registry],
  });
  readonly nftablesSyncFailuresTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total',
    help: 'Cumulative proxy nftables sync failures',
    labelNames: ['ip_family'],
    registers: [this.registry],
  });
  readonly nftablesCleanupFailuresTotal = new Counter({
    name: 'kubeproxy_sync_proxy_rules_nftables_cleanup_failures_total',
    help: 'Cumulative proxy nftables cleanup failures',
    labelNames: ['ip_family'],
    registers: [this.registry],
  });
  readonly noLocalEndpointsTotal = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
    help: 'Number of services with a Local traffic policy and no endpoints',
    labelNames: ['traffic_policy', 'ip_family'],
    registers: [this.registry],
  });
  readonly healthzTotal = new Counter({
    name: 'kubeproxy_proxy_healthz_total',
    help: 'Cumulative proxy healthz HTTP status',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly livezTotal = new Counter({
    name: 'kubeproxy_proxy_livez_total',
    help: 'Cumulative proxy livez HTTP status',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly conntrackReconcilerSyncDuration = new Histogram({
    name: 'kubeproxy_conntrack_reconciler_sync_duration_seconds',
    help: 'ReconcileConntrackFlowsLatency latency in seconds',
    labelNames: ['ip_family'],
    buckets: SYNC_BUCKETS,
    registers: [this.registry],
  });
  readonly conntrackReconcilerDeletedEntriesTotal = new Counter({
    name: 'kubeproxy_conntrack_reconciler_deleted_entries_total',
    help: 'Cumulative conntrack flows deleted by conntrack reconciler',
    labelNames: ['ip_family'],
    registers: [this.registry],
  });
  /** Ours: objects skipped because they are malformed (upstream never sees them: the API validates). */
  readonly invalidObjectsTotal = new Counter({
    name: 'kubeproxy_ts_invalid_objects_total',
    help: 'Services, EndpointSlices and Nodes skipped because they are malformed',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }
}

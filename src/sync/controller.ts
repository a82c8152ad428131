import type { ChangeTracker } from '../model/tracker.js';
import type { Checkout, FamilySnapshot } from '../model/snapshot.js';
import type { IPFamily } from '../model/ip.js';
import type { ProxyMetrics } from '../server/metrics.js';
import type { ProxyHealth } from '../server/proxy-health.js';
import type { HealthCheckService } from '../server/service-health.js';
import type { Logger } from '../util/log.js';
import { BoundedFrequencyRunner, type Clock, systemClock } from './runner.js';
import type { Proxier, SyncReport } from './proxier.js';

/** Upstream's FullSyncPeriod: the runner's maxInterval. */
export const MAX_SYNC_INTERVAL_MS = 60 * 60 * 1000;

export interface SyncHooks {
  /** Health-check node port servers for ETP=Local load balancers. */
  syncServiceHealth?(services: readonly HealthCheckService[], localEndpoints: ReadonlyMap<string, number>): Promise<void>;
  /** After a successful sync whose changes touched UDP services: delete stale conntrack flows. */
  cleanupConntrack?(family: IPFamily, snapshot: FamilySnapshot): Promise<void>;
}

export interface SyncControllerOptions {
  readonly tracker: ChangeTracker;
  readonly proxiers: readonly Proxier[];
  readonly minSyncPeriodMs: number;
  readonly syncPeriodMs: number;
  readonly log: Logger;
  readonly health?: ProxyHealth;
  readonly metrics?: ProxyMetrics;
  readonly hooks?: SyncHooks;
  readonly clock?: Clock;
  /** Called after every sync attempt (tests, --once, the demo). */
  readonly onSync?: (result: SyncOutcome) => void;
}

export interface SyncOutcome {
  readonly ok: boolean;
  readonly error?: unknown;
  readonly reports: ReadonlyMap<IPFamily, SyncReport>;
  readonly changedServices: number;
}

/**
 * The sync loop: events go into the tracker, a bounded-frequency runner calls sync(), which
 * checks out one snapshot and hands each family's proxier its part. Nothing is programmed until
 * both Services and EndpointSlices have been listed once (upstream's isInitialized), so a
 * restart never flushes rules for services it has not heard of yet.
 */
export class SyncController {
  private readonly runner: BoundedFrequencyRunner;
  private servicesSynced = false;
  private endpointSlicesSynced = false;
  private started = false;
  private setupDone = false;
  /** Changes checked out but not yet applied everywhere: re-sent until every family succeeds. */
  private unappliedChanges = new Set<string>();
  private pendingTopologyChange = false;
  private pendingTriggerTimes = new Map<string, number[]>();
  private pendingConntrack = false;

  constructor(private readonly opts: SyncControllerOptions) {
    this.runner = new BoundedFrequencyRunner(
      () => this.sync(),
      { minIntervalMs: opts.minSyncPeriodMs, retryIntervalMs: opts.syncPeriodMs, maxIntervalMs: MAX_SYNC_INTERVAL_MS },
      (err) => opts.log.error({ err: String(err) }, 'Sync failed; retrying with a full sync'),
      opts.clock ?? systemClock,
    );
  }

  get initialized(): boolean {
    return this.servicesSynced && this.endpointSlicesSynced;
  }

  /** Starts the loop; like upstream's SyncLoop, the proxy counts as healthy while it waits. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const p of this.opts.proxiers) {
      this.opts.health?.updated(p.family);
      this.opts.metrics?.syncProxyRulesLastQueuedTimestamp.set({ ip_family: p.family }, Date.now() / 1000);
    }
    this.runner.start();
    if (this.initialized) this.requestSync();
  }

  async stop(): Promise<void> {
    await this.runner.stop();
    await Promise.all(this.opts.proxiers.map((p) => p.stop()));
  }

  markServicesSynced(): void {
    this.servicesSynced = true;
    if (this.initialized) this.requestSync();
  }

  markEndpointSlicesSynced(): void {
    this.endpointSlicesSynced = true;
    if (this.initialized) this.requestSync();
  }

  /** Called after each event has been folded into the tracker. */
  notifyChange(): void {
    const stats = this.opts.tracker.getStats();
    const m = this.opts.metrics;
    if (m) {
      m.serviceChangesPending.set(stats.serviceChangesPending);
      m.endpointChangesPending.set(stats.endpointChangesPending);
    }
    if (this.initialized && this.opts.tracker.hasPendingChanges()) this.requestSync();
  }

  /** Upstream's Sync(): mark an update as queued and ask the runner for a run. */
  requestSync(): void {
    for (const p of this.opts.proxiers) {
      this.opts.health?.queued(p.family);
      this.opts.metrics?.syncProxyRulesLastQueuedTimestamp.set({ ip_family: p.family }, Date.now() / 1000);
    }
    this.runner.run();
  }

  /** One sync now, outside the runner (for --once); throws when any family fails. */
  async syncNow(): Promise<SyncOutcome> {
    let outcome: SyncOutcome | undefined;
    try {
      await this.sync((o) => (outcome = o));
    } catch (err) {
      if (!outcome) throw err;
    }
    return outcome!;
  }

  private async sync(report?: (o: SyncOutcome) => void): Promise<void> {
    if (!this.initialized) {
      this.opts.log.debug('Not syncing until Services and EndpointSlices have been received');
      return;
    }
    if (!this.setupDone) {
      for (const p of this.opts.proxiers) await p.setup();
      this.setupDone = true;
    }
    const checkout = this.opts.tracker.checkout();
    this.accumulate(checkout);
    const started = performance.now();
    const reports = new Map<IPFamily, SyncReport>();
    let firstError: unknown;
    for (const proxier of this.opts.proxiers) {
      const familyStart = performance.now();
      try {
        const r = await proxier.sync({
          snapshot: checkout.snapshot.families[proxier.family],
          node: checkout.snapshot.node,
          changedServices: this.unappliedChanges,
          forceFullSync: this.pendingTopologyChange,
        });
        reports.set(proxier.family, r);
        this.afterFamilySuccess(proxier.family, r, (performance.now() - familyStart) / 1000);
      } catch (err) {
        firstError ??= err;
      }
    }
    const outcome: SyncOutcome = { ok: firstError === undefined, error: firstError, reports, changedServices: this.unappliedChanges.size };
    if (firstError === undefined) {
      await this.afterSuccess(checkout);
      this.unappliedChanges = new Set();
      this.pendingTopologyChange = false;
      this.pendingTriggerTimes = new Map();
      this.pendingConntrack = false;
    }
    this.opts.log.debug({ ms: Math.round(performance.now() - started), ok: outcome.ok, changed: outcome.changedServices }, 'Sync finished');
    report?.(outcome);
    this.opts.onSync?.(outcome);
    if (firstError !== undefined) throw firstError;
  }

  private accumulate(checkout: Checkout): void {
    for (const name of checkout.changedServices) this.unappliedChanges.add(name);
    if (checkout.topologyChanged) this.pendingTopologyChange = true;
    if (checkout.conntrackCleanupRequired) this.pendingConntrack = true;
    for (const [name, times] of checkout.triggerTimes) {
      const list = this.pendingTriggerTimes.get(name) ?? [];
      list.push(...times);
      this.pendingTriggerTimes.set(name, list);
    }
  }

  private afterFamilySuccess(family: IPFamily, r: SyncReport, seconds: number): void {
    this.opts.health?.updated(family);
    const m = this.opts.metrics;
    if (!m) return;
    m.syncProxyRulesDuration.observe({ ip_family: family }, seconds);
    m.syncProxyRulesLastTimestamp.set({ ip_family: family }, Date.now() / 1000);
    m.noLocalEndpointsTotal.set({ traffic_policy: 'internal', ip_family: family }, r.noLocalEndpoints.internal);
    m.noLocalEndpointsTotal.set({ traffic_policy: 'external', ip_family: family }, r.noLocalEndpoints.external);
  }

  private async afterSuccess(checkout: Checkout): Promise<void> {
    const m = this.opts.metrics;
    if (m) {
      const now = Date.now();
      for (const times of this.pendingTriggerTimes.values()) {
        for (const t of times) {
          for (const p of this.opts.proxiers) m.networkProgrammingDuration.observe({ ip_family: p.family }, Math.max(0, (now - t) / 1000));
        }
      }
      const stats = this.opts.tracker.getStats();
      m.serviceChangesPending.set(stats.serviceChangesPending);
      m.endpointChangesPending.set(stats.endpointChangesPending);
    }
    const hooks = this.opts.hooks;
    if (hooks?.syncServiceHealth) {
      const { services, localEndpoints } = healthCheckState(checkout, this.opts.proxiers.map((p) => p.family));
      await hooks.syncServiceHealth(services, localEndpoints).catch((err: unknown) =>
        this.opts.log.error({ err: String(err) }, 'Error syncing healthcheck services'),
      );
    }
    if (hooks?.cleanupConntrack && this.pendingConntrack) {
      for (const p of this.opts.proxiers) {
        await hooks.cleanupConntrack(p.family, checkout.snapshot.families[p.family]).catch((err: unknown) =>
          this.opts.log.error({ err: String(err), family: p.family }, 'Conntrack cleanup failed'),
        );
      }
    }
  }
}

/**
 * Health-check node ports and, per service, the number of distinct local ready endpoint IPs
 * (upstream's LocalReadyEndpoints), over the families in use.
 */
export function healthCheckState(
  checkout: Checkout,
  families: readonly IPFamily[],
): { services: HealthCheckService[]; localEndpoints: Map<string, number> } {
  const ports = new Map<number, string>();
  const ips = new Map<string, Set<string>>();
  for (const family of families) {
    const snap = checkout.snapshot.families[family];
    for (const sp of snap.servicePorts.values()) {
      if (sp.healthCheckNodePort !== 0) ports.set(sp.healthCheckNodePort, sp.serviceName);
    }
    for (const [key, eps] of snap.endpoints) {
      const name = key.slice(0, key.indexOf(':'));
      for (const ep of eps) {
        if (!ep.isLocal || !ep.ready) continue;
        let set = ips.get(name);
        if (!set) ips.set(name, (set = new Set()));
        set.add(ep.ip);
      }
    }
  }
  const localEndpoints = new Map<string, number>();
  for (const [name, set] of ips) localEndpoints.set(name, set.size);
  return { services: [...ports].map(([port, name]) => ({ port, name })), localEndpoints };
}

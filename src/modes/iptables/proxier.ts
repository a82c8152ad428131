import { chainsInSave, RestoreError, type IptablesTable } from '../../kernel/iptables.js';
import type { Logger } from '../../util/log.js';
import type { ProxyMetrics } from '../../server/metrics.js';
import type { Proxier, SyncReport, SyncRequest } from '../../sync/proxier.js';
import type { IPFamily } from '../../model/ip.js';
import type { NodeInfo } from '../../model/node.js';
import { iptablesJumpRules } from './jumps.js';
import { ChainNames, KUBE_MARK_MASQ, KUBE_PROXY_CANARY } from './naming.js';
import { generateIptablesRules, LARGE_CLUSTER_ENDPOINTS_THRESHOLD, renderPhasedRestore, type IptablesRuleConfig } from './rules.js';

/** What the proxier needs from iptables; the real one drives the binaries, --dry-run prints. */
export interface IptablesKernel {
  restore(text: string): Promise<void>;
  save(table: IptablesTable): Promise<string>;
  chainExists(table: IptablesTable, chain: string): Promise<boolean>;
  ensureChain(table: IptablesTable, chain: string): Promise<void>;
  ensureRulePrepended(table: IptablesTable, chain: string, rule: readonly string[]): Promise<boolean>;
  setRouteLocalnet(): Promise<void>;
}

export interface IptablesProxierOptions {
  readonly family: IPFamily;
  readonly kernel: IptablesKernel;
  /** Rule configuration for the node as the sync sees it (addresses, labels, pod CIDRs). */
  readonly ruleConfig: (node: NodeInfo) => IptablesRuleConfig;
  readonly syncPeriodMs: number;
  readonly log: Logger;
  readonly metrics?: ProxyMetrics;
  /** Asks the sync loop for a sync soon (the canary saw our tables flushed). */
  readonly requestSync?: () => void;
  /** Poll interval of the canary monitor; 0 disables it. */
  readonly canaryIntervalMs?: number;
  /**
   * Cut restores that declare more service chains than this into batches (iptables-nft only:
   * its restore time grows with the square of the chains in one run; legacy rewrites the whole
   * table per run, so it must get one restore). Undefined: always one restore, as upstream.
   */
  readonly phasedRestoreMaxChains?: number;
  readonly now?: () => number;
}

/** A full sync at least this often even without failures (upstream's FullSyncPeriod). */
export const FULL_SYNC_PERIOD_MS = 60 * 60 * 1000;
const CANARY_TABLES: readonly IptablesTable[] = ['mangle', 'nat', 'filter'];

/**
 * iptables mode for one family. Keeps upstream's sync discipline: a full sync at start, after any
 * failure, on topology change, hourly and when the canary chains vanish; otherwise partial syncs
 * that rewrite only changed services' chains; stale chains found by iptables-save are deleted
 * (at most once per syncPeriod in large clusters, where iptables-save is slow).
 */
export class IptablesProxier implements Proxier {
  readonly mode = 'iptables' as const;
  readonly family: IPFamily;
  private readonly names = new ChainNames();
  private needFullSync = true;
  private lastFullSyncAt = Number.NEGATIVE_INFINITY;
  private lastStaleCleanupAt = Number.NEGATIVE_INFINITY;
  private canaryTimer: NodeJS.Timeout | undefined;
  private canaryCheck: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: IptablesProxierOptions) {
    this.family = opts.family;
    this.now = opts.now ?? (() => Date.now());
  }

  async setup(): Promise<void> {
    await this.ensureCanaries();
    const interval = this.opts.canaryIntervalMs ?? this.opts.syncPeriodMs;
    if (interval > 0) {
      this.canaryTimer = setInterval(() => {
        this.canaryCheck ??= this.checkCanaries().finally(() => (this.canaryCheck = undefined));
      }, interval);
      this.canaryTimer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.canaryTimer) clearInterval(this.canaryTimer);
    await this.canaryCheck;
  }

  /** Forces the next sync to be a full one. */
  markFullSyncNeeded(): void {
    this.needFullSync = true;
  }

  async sync(request: SyncRequest): Promise<SyncReport> {
    const { snapshot, node } = request;
    const now = this.now();
    const full = this.needFullSync || request.forceFullSync || now - this.lastFullSyncAt > FULL_SYNC_PERIOD_MS;
    const fam = this.family;
    const m = this.opts.metrics;
    const started = performance.now();
    const config = this.opts.ruleConfig(node);

    if (full) {
      for (const jump of iptablesJumpRules(false)) await this.opts.kernel.ensureChain(jump.table, jump.to);
      for (const jump of iptablesJumpRules(false)) await this.opts.kernel.ensureRulePrepended(jump.table, jump.from, jump.args);
    }

    let totalEndpoints = 0;
    for (const eps of snapshot.endpoints.values()) totalEndpoints += eps.length;
    const largeCluster = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
    let existingNatChains: Set<string> | undefined;
    if (!largeCluster || now - this.lastStaleCleanupAt > this.opts.syncPeriodMs) {
      try {
        existingNatChains = chainsInSave(await this.opts.kernel.save('nat'), 'nat');
      } catch (err) {
        this.opts.log.error({ err: String(err) }, 'iptables-save failed: stale chains will not be deleted');
      }
    }

    const genStart = performance.now();
    const ruleSet = generateIptablesRules({
      snapshot,
      config,
      changedServices: full ? undefined : request.changedServices,
      existingNatChains,
      names: this.names,
    });
    const generateMs = performance.now() - genStart;

    const applyStart = performance.now();
    const max = this.opts.phasedRestoreMaxChains;
    const serviceChains = ruleSet.sections.services.reduce((n, s) => n + s.chains.length, 0);
    const restores = max !== undefined && serviceChains > max ? renderPhasedRestore(ruleSet, max) : [ruleSet.text];
    try {
      // Service chains written ahead of the final restore jump to KUBE-MARK-MASQ.
      if (restores.length > 1) await this.opts.kernel.ensureChain('nat', KUBE_MARK_MASQ);
      for (const text of restores) await this.opts.kernel.restore(text);
    } catch (err) {
      this.needFullSync = true;
      m?.iptablesRestoreFailuresTotal.inc({ ip_family: fam });
      if (!full) m?.iptablesPartialRestoreFailuresTotal.inc({ ip_family: fam });
      const context = err instanceof RestoreError ? err.context : undefined;
      this.opts.log.error({ err: String(err), family: fam, full, rules: context }, 'Failed to execute iptables-restore');
      throw err;
    }
    const applyMs = performance.now() - applyStart;
    if (full && ruleSet.localhostNodePortsActive) {
      // KUBE-FIREWALL exists once the restore declared it; only then can INPUT/OUTPUT jump to it.
      await this.opts.kernel.setRouteLocalnet();
      for (const jump of iptablesJumpRules(true).slice(-2)) {
        await this.opts.kernel.ensureRulePrepended(jump.table, jump.from, jump.args);
      }
    }

    if (existingNatChains) this.lastStaleCleanupAt = now;
    if (full) {
      this.lastFullSyncAt = now;
      this.names.retainOnly(new Set(snapshot.servicePorts.keys()));
    }
    this.needFullSync = false;

    if (m) {
      m.iptablesRulesLast.set({ table: 'filter', ip_family: fam }, ruleSet.rulesWritten.filter);
      m.iptablesRulesLast.set({ table: 'nat', ip_family: fam }, ruleSet.rulesWritten.nat);
      m.iptablesRulesTotal.set({ table: 'filter', ip_family: fam }, ruleSet.rulesTotal.filter);
      m.iptablesRulesTotal.set({ table: 'nat', ip_family: fam }, ruleSet.rulesTotal.nat);
      const seconds = (performance.now() - started) / 1000;
      (full ? m.syncFullProxyRulesDuration : m.syncPartialProxyRulesDuration).observe({ ip_family: fam }, seconds);
    }
    this.opts.log.debug(
      {
        family: fam,
        full,
        services: snapshot.servicePorts.size,
        endpoints: totalEndpoints,
        natRules: ruleSet.rulesWritten.nat,
        restores: restores.length,
        filterRules: ruleSet.rulesWritten.filter,
        staleChains: ruleSet.staleChainsDeleted,
        generateMs: Math.round(generateMs),
        applyMs: Math.round(applyMs),
      },
      'Synced iptables rules',
    );
    return { full, generateMs, applyMs, noLocalEndpoints: ruleSet.noLocalEndpoints };
  }

  private async ensureCanaries(): Promise<void> {
    for (const table of CANARY_TABLES) await this.opts.kernel.ensureChain(table, KUBE_PROXY_CANARY);
  }

  /**
   * Something (firewalld, an admin's `iptables -F`) flushed the tables: wait until the flush is
   * complete so we do not race it, then force a full resync and recreate the canaries.
   */
  private async checkCanaries(): Promise<void> {
    const present = async (): Promise<boolean[]> =>
      Promise.all(CANARY_TABLES.map((t) => this.opts.kernel.chainExists(t, KUBE_PROXY_CANARY)));
    let state = await present();
    if (state.every(Boolean)) return;
    const deadline = Date.now() + 5000;
    while (state.some(Boolean) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      state = await present();
    }
    this.opts.log.info({ family: this.family }, 'iptables canary chains are gone: forcing a full resync');
    this.needFullSync = true;
    await this.ensureCanaries();
    this.opts.requestSync?.();
  }
}

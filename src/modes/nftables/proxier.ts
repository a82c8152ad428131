import type { IPFamily } from '../../model/ip.js';
import type { NodeInfo } from '../../model/node.js';
import type { ProxyMetrics } from '../../server/metrics.js';
import type { Proxier, SyncReport, SyncRequest } from '../../sync/proxier.js';
import type { Logger } from '../../util/log.js';
import type { NftablesApplier, TableListing } from './applier.js';
import { layoutFingerprint } from './layout.js';
import { renderCommand } from './render.js';
import { isAffinitySetName, isServiceChainName, NftablesNames } from './naming.js';
import {
  buildSyncPlan,
  emptyAppliedState,
  ServiceObjectsCache,
  nextStaleDeadline,
  staleChainDeletion,
  withoutChains,
  type AppliedState,
  type NftablesSyncStats,
} from './ruleset.js';
import type { NftablesRuleConfig } from './service-rules.js';

/** A full sync at least this often even without failures (upstream's FullSyncPeriod). */
export const FULL_SYNC_PERIOD_MS = 60 * 60 * 1000;
/** Commands per early transaction of a full sync that creates many chains (see ruleset.ts Prelude). */
export const COLD_START_CHUNK = 20_000;
/** A failed transaction is logged whole at most this often (it can be megabytes). */
const FAILURE_DUMP_INTERVAL_MS = 24 * 60 * 60 * 1000;

export interface NftablesProxierOptions {
  readonly family: IPFamily;
  readonly applier: NftablesApplier;
  /** Rule configuration for the node as this sync sees it (addresses, pod CIDRs). */
  readonly ruleConfig: (node: NodeInfo) => NftablesRuleConfig;
  readonly log: Logger;
  readonly metrics?: ProxyMetrics | undefined;
  /** Asks the sync loop for a sync soon: used to delete stale chains once they may go. */
  readonly requestSync?: (() => void) | undefined;
  readonly now?: () => number;
  /** Overrides COLD_START_CHUNK; 0 sends every full sync as one transaction. */
  readonly coldStartChunk?: number;
}

export interface NftablesSyncReport extends SyncReport {
  readonly stats: NftablesSyncStats;
  readonly staleChainsDeleted: number;
}

/**
 * The applied state with what a listing of the kernel says: the kernel is the truth for which
 * per-service chains and affinity sets exist (a previous run's, or none after someone deleted
 * the table); stale time stamps survive for chains still present.
 */
function reconcileWithKernel(applied: AppliedState, listing: TableListing | undefined): AppliedState {
  const chains = new Set((listing?.chains ?? []).filter(isServiceChainName));
  const affinitySets = new Map<string, number>();
  for (const s of listing?.sets ?? []) if (isAffinitySetName(s.name)) affinitySets.set(s.name, s.timeout ?? 0);
  const staleChains = new Map([...applied.staleChains].filter(([c]) => chains.has(c)));
  return { elements: applied.elements, chains, affinitySets, staleChains };
}

/**
 * nftables mode for one family, with upstream's sync discipline: the first sync, any sync after
 * a failure, a topology or layout change and one per hour are full (layout rewritten, maps
 * refilled, the kernel's chains listed); the others send only element diffs and the chains of
 * changed services. Chains that fall out of use are flushed at once and deleted a second later
 * in their own transaction.
 */
export class NftablesProxier implements Proxier {
  readonly mode = 'nftables' as const;
  readonly family: IPFamily;
  private readonly names = new NftablesNames();
  private readonly cache = new ServiceObjectsCache();
  private applied: AppliedState = emptyAppliedState();
  private needFullSync = true;
  private firstSync = true;
  private lastFullSyncAt = Number.NEGATIVE_INFINITY;
  private appliedLayout: string | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private lastFailureDumpAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly opts: NftablesProxierOptions) {
    this.family = opts.family;
    this.now = opts.now ?? (() => Date.now());
  }

  get applierName(): string {
    return this.opts.applier.name;
  }

  async setup(): Promise<void> {}

  async stop(): Promise<void> {
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
  }

  /** Forces the next sync to be a full one. */
  markFullSyncNeeded(): void {
    this.needFullSync = true;
  }

  /** What this proxier believes the kernel holds (tests and diagnostics). */
  appliedState(): AppliedState {
    return this.applied;
  }

  async sync(request: SyncRequest): Promise<NftablesSyncReport> {
    const started = performance.now();
    const now = this.now();
    const fam = this.family;
    const m = this.opts.metrics;
    const config = this.opts.ruleConfig(request.node);
    const layout = layoutFingerprint(config);

    const staleChainsDeleted = await this.deleteStaleChains(config, now);

    const full =
      this.needFullSync || request.forceFullSync || now - this.lastFullSyncAt >= FULL_SYNC_PERIOD_MS || layout !== this.appliedLayout;
    let applied = this.applied;
    let chainsKnown = true;
    if (full) {
      try {
        applied = reconcileWithKernel(applied, await this.opts.applier.listTable(fam));
      } catch (err) {
        chainsKnown = false;
        // Upstream carries on without the listing: stale chains are then only those we know of.
        this.opts.log.error({ err: String(err), family: fam }, 'Failed to list nftables chains: stale chains will not be deleted');
      }
    }

    const genStart = performance.now();
    const plan = buildSyncPlan({
      snapshot: request.snapshot,
      config,
      names: this.names,
      cache: this.cache,
      applied,
      chainsKnown,
      full,
      firstSync: this.firstSync,
      changedServices: request.changedServices,
      now,
      coldStartChunk: this.opts.coldStartChunk ?? COLD_START_CHUNK,
    });
    const generateMs = performance.now() - genStart;
    for (const ip of plan.stats.skippedLoopbackNodePortIPs) {
      this.opts.log.error({ address: ip, family: fam }, '--nodeport-addresses includes localhost but localhost NodePorts are not supported');
    }

    const applyStart = performance.now();
    try {
      for (const early of plan.prelude) await this.opts.applier.apply(early);
      await this.opts.applier.apply(plan.document);
    } catch (err) {
      // The transaction was refused whole, but the changes it carried are checked out of the
      // tracker: only a full sync can bring the table back in line.
      this.needFullSync = true;
      m?.nftablesSyncFailuresTotal.inc({ ip_family: fam });
      this.opts.log.error(
        { err: String(err), family: fam, full, applier: this.opts.applier.name, commands: plan.document.nftables.length },
        'nftables sync failed',
      );
      // As upstream (V(4), once a day): the whole transaction, to find the offending command.
      if (this.opts.log.isLevelEnabled('trace') && now - this.lastFailureDumpAt >= FAILURE_DUMP_INTERVAL_MS) {
        this.lastFailureDumpAt = now;
        this.opts.log.trace({ family: fam, transaction: plan.document.nftables.flatMap(renderCommand).join('\n') }, 'Failed nftables transaction');
      }
      throw err;
    }
    const applyMs = performance.now() - applyStart;

    this.applied = plan.next;
    this.needFullSync = false;
    this.firstSync = false;
    if (full) {
      this.lastFullSyncAt = now;
      this.appliedLayout = layout;
      this.names.retainOnly(new Set(request.snapshot.servicePorts.keys()));
    }
    this.scheduleStaleChainDeletion();

    if (m) {
      const seconds = (performance.now() - started) / 1000;
      (full ? m.syncFullProxyRulesDuration : m.syncPartialProxyRulesDuration).observe({ ip_family: fam }, seconds);
    }
    const s = plan.stats;
    this.opts.log.debug(
      {
        family: fam,
        full,
        applier: this.opts.applier.name,
        servicePorts: s.servicePorts,
        servicePortsWritten: s.servicePortsWritten,
        rules: s.rulesWritten,
        elementsAdded: s.elementsAdded,
        elementsDeleted: s.elementsDeleted,
        staleChainsFlushed: s.staleChainsFlushed,
        staleChainsDeleted,
        commands: plan.document.nftables.length,
        earlyTransactions: plan.prelude.length,
        generateMs: Math.round(generateMs),
        applyMs: Math.round(applyMs),
      },
      'Synced nftables rules',
    );
    return { full, generateMs, applyMs, noLocalEndpoints: s.noLocalEndpoints, stats: s, staleChainsDeleted };
  }

  /**
   * Deletes chains stale for at least a second, in a transaction of their own (a chain a map
   * element pointed to cannot be deleted in the transaction that removed the element). A failure
   * here is counted and logged, and the deletion retried later.
   */
  private async deleteStaleChains(config: NftablesRuleConfig, now: number): Promise<number> {
    const deletion = staleChainDeletion(config, this.applied, now);
    if (!deletion) return 0;
    try {
      await this.opts.applier.apply(deletion.document);
      this.applied = withoutChains(this.applied, deletion.deleted);
      this.opts.log.debug({ family: this.family, chains: deletion.deleted.length }, 'Deleted stale nftables chains');
      return deletion.deleted.length;
    } catch (err) {
      this.opts.metrics?.nftablesCleanupFailuresTotal.inc({ ip_family: this.family });
      this.opts.log.error({ err: String(err), family: this.family }, 'Unable to delete stale chains; will retry later');
      // As upstream: forget their time stamps; the sync below finds them unused, flushes them
      // again and stamps them anew, and a missing table makes that sync fail into a full one.
      const staleChains = new Map(this.applied.staleChains);
      for (const c of deletion.deleted) staleChains.delete(c);
      this.applied = { ...this.applied, staleChains };
      return 0;
    }
  }

  /** Upstream deletes stale chains only when the next sync happens to run; we ask for one. */
  private scheduleStaleChainDeletion(): void {
    if (this.staleTimer || !this.opts.requestSync) return;
    const deadline = nextStaleDeadline(this.applied);
    if (deadline === undefined) return;
    const delay = Math.max(0, deadline - this.now()) + 50;
    this.staleTimer = setTimeout(() => {
      this.staleTimer = undefined;
      this.opts.requestSync?.();
    }, delay);
    this.staleTimer.unref();
  }
}

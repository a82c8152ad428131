import { performance } from 'node:perf_hooks';
import type { IpvsDestinationInfo, IpvsOperation, IpvsServiceInfo, IpvsTimeouts } from '../../kernel/netlink.js';
import { parseCIDR, type CIDR, type IPFamily } from '../../model/ip.js';
import type { NodeInfo } from '../../model/node.js';
import type { ProxyMetrics } from '../../server/metrics.js';
import type { Proxier, SyncReport, SyncRequest } from '../../sync/proxier.js';
import type { Logger } from '../../util/log.js';
import { planAddresses, splitLocalAddresses } from './addresses.js';
import { describeIpvsOperation } from './describe.js';
import { buildIpvsDesiredState, type IpvsDesiredState, type IpvsRuleConfig } from './desired.js';
import { diffIpvs } from './diff.js';
import { DEFAULT_GRACEFUL_CHECK_INTERVAL_MS, GracefulTermination, planRemovals } from './graceful.js';
import { parseIpsetSave, planIpsetRestore, type KernelIpset } from './ipset-restore.js';
import { IPSET_SPECS } from './ipset-specs.js';
import { generateIpvsIptablesRules } from './iptables-rules.js';
import { IPVS_JUMP_RULES } from './jumps.js';
import type { IpvsKernel } from './kernel.js';
import { listedServiceKey } from './kernel-state.js';
import { FILTER_CHAINS, ipsetName, NAT_CHAINS } from './naming.js';
import { ipvsSysctls } from './sysctls.js';

/** A full sync at least this often (upstream's FullSyncPeriod); partial syncs read less of the kernel. */
export const FULL_SYNC_PERIOD_MS = 60 * 60 * 1000;
/** Destination listings in flight at once (one netlink dump each). */
const LISTING_CONCURRENCY = 32;

export interface IpvsProxierOptions {
  readonly family: IPFamily;
  readonly kernel: IpvsKernel;
  /** The rule configuration for the node as this sync sees it; nodeAddresses exclude kube-ipvs0's. */
  readonly ruleConfig: (node: NodeInfo, nodeAddresses: readonly string[]) => IpvsRuleConfig;
  readonly excludeCIDRs: readonly string[];
  readonly strictARP: boolean;
  /** Seconds; all zero leaves the kernel's timeouts alone. */
  readonly timeouts: Required<IpvsTimeouts>;
  readonly syncPeriodMs: number;
  /** How often draining real servers are checked (upstream: 1 minute); 0 disables the timer. */
  readonly gracefulCheckIntervalMs?: number;
  readonly log: Logger;
  readonly metrics?: ProxyMetrics;
  /** Asks the sync loop for a sync soon (a retry after failed operations). */
  readonly requestSync?: () => void;
  readonly now?: () => number;
}

export interface IpvsSyncStats {
  readonly virtualServers: number;
  readonly ipvsOperations: number;
  readonly failedOperations: number;
  readonly destinationsListed: number;
  readonly addressesBound: number;
  readonly addressesUnbound: number;
  readonly ipsetChanges: number;
  readonly draining: number;
}

/**
 * IPVS mode for one family. Each sync builds the whole desired state (pure), reads the kernel's
 * IPVS services, kube-ipvs0's addresses and, where needed, real servers over netlink, and applies
 * only the difference: IPVS and address changes in netlink batches, the ipsets in one `ipset
 * restore`, the small iptables rule set in one `iptables-restore --noflush`. As upstream, a failed
 * IPVS operation is logged and retried later without failing the sync; a failed ipset or iptables
 * restore fails it.
 */
export class IpvsProxier implements Proxier {
  readonly mode = 'ipvs' as const;
  readonly family: IPFamily;
  readonly graceful = new GracefulTermination();
  private needFullSync = true;
  private lastFullSyncAt = Number.NEGATIVE_INFINITY;
  private appliedIpsets: Map<string, KernelIpset> | undefined;
  private dummyIndex: number | undefined;
  private readonly excludeCIDRs: CIDR[];
  private lock: Promise<unknown> = Promise.resolve();
  private gracefulTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** What the last sync did, for tests and benchmarks. */
  lastStats: IpvsSyncStats | undefined;

  constructor(private readonly opts: IpvsProxierOptions) {
    this.family = opts.family;
    this.now = opts.now ?? (() => Date.now());
    this.excludeCIDRs = opts.excludeCIDRs.map((c) => parseCIDR(c)).filter((c): c is CIDR => c !== undefined && c.family === opts.family);
  }

  async setup(): Promise<void> {
    const k = this.opts.kernel;
    const { settings, notes } = ipvsSysctls(k.kernelRelease(), this.opts.strictARP);
    for (const note of notes) this.opts.log.debug({ family: this.family }, note);
    for (const s of settings) await k.writeSysctl(s.name, s.value);
    const t = this.opts.timeouts;
    if (t.tcp > 0 || t.tcpFin > 0 || t.udp > 0) {
      // As upstream: a failure here is logged, not fatal.
      await k.setTimeouts(t).catch((err: unknown) => this.opts.log.error({ err: String(err) }, 'Failed to configure IPVS timeouts'));
    }
    this.dummyIndex = await k.ensureDummyDevice();
    await this.ensureChainsAndJumps();
    const interval = this.opts.gracefulCheckIntervalMs ?? DEFAULT_GRACEFUL_CHECK_INTERVAL_MS;
    if (interval > 0) {
      this.gracefulTimer = setInterval(() => void this.checkDraining(), interval);
      this.gracefulTimer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.gracefulTimer) clearInterval(this.gracefulTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.lock.catch(() => undefined);
  }

  /** Runs `fn` after everything queued before it: syncs and drain checks never interleave. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.catch(() => undefined).then(fn);
    this.lock = run;
    return run;
  }

  /** One pass of graceful termination: drained real servers are deleted. */
  checkDraining(): Promise<void> {
    if (this.graceful.size === 0) return Promise.resolve();
    return this.exclusive(async () => {
      try {
        const r = await this.graceful.check(this.opts.kernel);
        if (r.deleted > 0) this.opts.log.info({ family: this.family, deleted: r.deleted, remaining: r.remaining }, 'Deleted drained IPVS real servers');
      } catch (err) {
        this.opts.log.error({ family: this.family, err: String(err) }, 'Graceful termination check failed');
      }
    });
  }

  sync(request: SyncRequest): Promise<SyncReport> {
    return this.exclusive(() => this.syncNow(request));
  }

  private async ensureChainsAndJumps(): Promise<void> {
    const k = this.opts.kernel;
    for (const chain of NAT_CHAINS) await k.ensureChain('nat', chain);
    for (const chain of FILTER_CHAINS) await k.ensureChain('filter', chain);
    for (const j of IPVS_JUMP_RULES) await k.ensureRulePrepended(j.table, j.from, j.args);
  }

  private async syncNow(request: SyncRequest): Promise<SyncReport> {
    const k = this.opts.kernel;
    const fam = this.family;
    const now = this.now();
    const full = this.needFullSync || request.forceFullSync || now - this.lastFullSyncAt > FULL_SYNC_PERIOD_MS;
    this.needFullSync = true; // until this sync has succeeded

    if (full) {
      this.dummyIndex = await k.ensureDummyDevice();
      await this.ensureChainsAndJumps();
    }
    const local = splitLocalAddresses(await k.listAddresses(fam), fam, this.dummyIndex);

    const generateStart = performance.now();
    const config = this.opts.ruleConfig(request.node, local.node);
    const desired = buildIpvsDesiredState(request.snapshot, config);
    const rules = generateIpvsIptablesRules(desired, config);
    let generateMs = performance.now() - generateStart;
    for (const c of desired.conflicts) this.opts.log.warn({ family: fam, conflict: c }, 'Two service ports want the same IPVS virtual server; the first keeps it');

    const applyStart = performance.now();
    const services = new Map<string, IpvsServiceInfo>();
    for (const s of await k.listServices()) {
      const key = listedServiceKey(s);
      if (key) services.set(key, s);
    }
    const toList = [...desired.virtualServers.values()].filter((vs) => services.has(vs.key) && (full || request.changedServices.has(vs.serviceName)));
    const destinations = await this.listDestinations(toList.map((vs) => ({ key: vs.key, service: services.get(vs.key)! })));

    const diffStart = performance.now();
    const plan = diffIpvs(desired, { services, destinations }, { excludeCIDRs: this.excludeCIDRs, isDraining: (vs, rs) => this.graceful.has(vs, rs) });
    const removals = planRemovals(plan.removals);
    const diffMs = performance.now() - diffStart;
    generateMs += diffMs;

    let failed = 0;
    const ops = [...plan.ops, ...removals.ops];
    if (ops.length) {
      const results = await k.applyIpvs(ops);
      failed += this.logFailures(ops, results.results);
      const offset = plan.ops.length;
      for (const r of plan.restored) this.graceful.remove(r.vsKey, r.rsKey);
      removals.draining.forEach((rs, i) => {
        if (rs && results.results[offset + i]?.ok) this.graceful.add(rs);
      });
    }

    const addresses = planAddresses(fam, desired.boundAddresses, local.dummy);
    if (addresses.bind.length) failed += this.logAddressFailures(addresses.bind, (await k.applyAddresses(addresses.bind)).results);

    await this.syncIpsets(full, desired);
    try {
      await k.iptablesRestore(rules.text);
    } catch (err) {
      this.opts.metrics?.iptablesRestoreFailuresTotal.inc({ ip_family: fam });
      this.opts.log.error({ family: fam, err: String(err) }, 'Failed to execute iptables-restore');
      throw err;
    }

    if (addresses.unbind.length) failed += this.logAddressFailures(addresses.unbind, (await k.applyAddresses(addresses.unbind)).results);
    if (plan.deleteServices.length) {
      failed += this.logFailures(plan.deleteServices, (await k.applyIpvs(plan.deleteServices)).results);
      for (const key of plan.deletedServiceKeys) this.graceful.forgetVirtualServer(key);
    }
    const applyMs = performance.now() - applyStart - diffMs;

    this.lastStats = {
      virtualServers: desired.virtualServers.size,
      ipvsOperations: ops.length + plan.deleteServices.length,
      failedOperations: failed,
      destinationsListed: toList.length,
      addressesBound: addresses.bind.length,
      addressesUnbound: addresses.unbind.length,
      ipsetChanges: this.lastIpsetChanges,
      draining: this.graceful.size,
    };
    if (full) this.lastFullSyncAt = now;
    if (failed > 0) this.scheduleRetry();
    else this.needFullSync = false;
    this.opts.log.debug({ family: fam, full, ...this.lastStats, generateMs: Math.round(generateMs), applyMs: Math.round(applyMs) }, 'Synced IPVS rules');
    return { full, generateMs, applyMs, noLocalEndpoints: desired.noLocalEndpoints };
  }

  private lastIpsetChanges = 0;

  /** One `ipset restore` with the difference; the kernel is read on full syncs, else our last write is trusted. */
  private async syncIpsets(full: boolean, desired: IpvsDesiredState): Promise<void> {
    const k = this.opts.kernel;
    let kernelSets = this.appliedIpsets;
    if (full || !kernelSets) kernelSets = parseIpsetSave(await k.ipsetSave());
    const plan = planIpsetRestore(this.family, desired.ipsets, kernelSets);
    this.lastIpsetChanges = plan.added + plan.deleted + plan.created;
    if (plan.script) {
      try {
        await k.ipsetRestore(plan.script);
      } catch (err) {
        this.appliedIpsets = undefined;
        this.opts.log.error({ family: this.family, err: String(err) }, 'Failed to sync ipsets');
        throw err;
      }
    }
    const applied = new Map<string, KernelIpset>();
    for (const spec of IPSET_SPECS) {
      applied.set(ipsetName(spec.base, this.family), { type: spec.type, entries: new Set(desired.ipsets.get(spec.base) ?? []) });
    }
    this.appliedIpsets = applied;
  }

  /** Destinations of the given virtual servers, a bounded number of dumps in flight. */
  private async listDestinations(list: readonly { key: string; service: IpvsServiceInfo }[]): Promise<Map<string, IpvsDestinationInfo[]>> {
    const out = new Map<string, IpvsDestinationInfo[]>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < list.length) {
        const item = list[next++]!;
        const s = item.service;
        out.set(item.key, await this.opts.kernel.listDestinations({ family: s.family, protocol: s.protocol!, address: s.address!, port: s.port! }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(LISTING_CONCURRENCY, list.length) }, worker));
    return out;
  }

  private logFailures(ops: readonly IpvsOperation[], results: readonly { ok: boolean; code?: string; message?: string }[]): number {
    let failed = 0;
    results.forEach((r, i) => {
      if (r.ok) return;
      failed++;
      if (failed <= 20) this.opts.log.error({ family: this.family, op: describeIpvsOperation(ops[i]!), code: r.code, err: r.message }, 'IPVS operation failed');
    });
    if (failed > 20) this.opts.log.error({ family: this.family, more: failed - 20 }, 'More IPVS operations failed');
    return failed;
  }

  private logAddressFailures(ops: readonly { op: string; address: string }[], results: readonly { ok: boolean; code?: string; message?: string }[]): number {
    let failed = 0;
    results.forEach((r, i) => {
      if (r.ok) return;
      failed++;
      this.opts.log.error({ family: this.family, op: ops[i]!.op, address: ops[i]!.address, code: r.code, err: r.message }, 'kube-ipvs0 address change failed');
    });
    return failed;
  }

  /** Failed operations are retried by a full sync one syncPeriod later (upstream's periodic resync). */
  private scheduleRetry(): void {
    if (!this.opts.requestSync || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.opts.requestSync?.();
    }, this.opts.syncPeriodMs);
    this.retryTimer.unref();
  }
}

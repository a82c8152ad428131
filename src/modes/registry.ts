import type { ExtraOptions } from '../config/types.js';
import type { RuntimeSettings } from '../config/runtime.js';
import type { IPFamily } from '../model/ip.js';
import type { NodeInfo } from '../model/node.js';
import type { FamilySnapshot } from '../model/snapshot.js';
import type { DriftReport } from '../audit/report.js';
import type { ProxyMetrics } from '../server/metrics.js';
import type { Logger } from '../util/log.js';
import type { Proxier, ProxyMode } from '../sync/proxier.js';
import { createIptablesProxier } from './iptables/factory.js';
import { cleanupIptables } from './iptables/cleanup.js';
import { cleanupNftables } from './nftables/cleanup.js';
import { createNftablesProxier } from './nftables/factory.js';
import { cleanupIpvs } from './ipvs/cleanup.js';
import { createIpvsProxier } from './ipvs/factory.js';
import { auditIptables } from '../audit/iptables.js';

/** Everything a mode needs to build its proxier for one family. */
export interface ModeContext {
  readonly settings: RuntimeSettings;
  readonly extra: ExtraOptions;
  readonly family: IPFamily;
  readonly log: Logger;
  readonly metrics: ProxyMetrics | undefined;
  /** Ask the sync loop for a sync soon. */
  readonly requestSync: () => void;
  /** Where --dry-run output goes. */
  readonly write: (text: string) => void;
}

export type ProxierFactory = (ctx: ModeContext) => Promise<Proxier>;

/**
 * A mode's cleanup: removes what it created, for every family; resolves with a summary.
 * `switchingTo` is set when another mode is starting (upstream's platformCleanup) and the
 * cleanup may keep what that mode will rewrite anyway; undefined means `--cleanup`: remove all.
 */
export type ModeCleanup = (families: readonly IPFamily[], extra: ExtraOptions, switchingTo?: ProxyMode) => Promise<string>;

/** What `kube-proxy-ts audit` hands a mode: the desired state of one family, from the API. */
export interface ModeAuditContext {
  readonly settings: RuntimeSettings;
  readonly extra: ExtraOptions;
  readonly family: IPFamily;
  readonly snapshot: FamilySnapshot;
  readonly node: NodeInfo;
  readonly log: Logger;
}

/**
 * Read-only: compares what the mode would program for the snapshot with what the kernel has.
 * Must change nothing, not even create a table (it runs from a CronJob on live nodes).
 */
export type ModeAudit = (ctx: ModeAuditContext) => Promise<DriftReport>;

export interface ModeDefinition {
  readonly create: ProxierFactory;
  readonly cleanup: ModeCleanup;
  /** Optional: modes without one answer `audit` with "not supported". */
  readonly audit?: ModeAudit;
}

const iptablesMode: ModeDefinition = {
  create: createIptablesProxier,
  cleanup: async (families, extra, switchingTo) => {
    let n = 0;
    for (const f of families) n += await cleanupIptables(f, {}, extra.iptablesBackend, { keepSharedWithIpvs: switchingTo === 'ipvs' });
    return `iptables: removed ${n} chains`;
  },
  audit: auditIptables,
};

const nftablesMode: ModeDefinition = {
  create: createNftablesProxier,
  cleanup: async (families) => `nftables: removed ${await cleanupNftables(families)} tables`,
};

const ipvsMode: ModeDefinition = {
  create: createIpvsProxier,
  cleanup: async (families, extra, switchingTo) => {
    const r = await cleanupIpvs(families, extra.iptablesBackend, switchingTo);
    const summary = `ipvs: flushed ${r.ipvsFlushed ? 'IPVS' : 'nothing in IPVS'}, ${r.dummyDeleted ? 'deleted kube-ipvs0, ' : ''}removed ${r.chainsDeleted} chains (${r.chainsFlushed} flushed), destroyed ${r.setsDestroyed} ipsets`;
    if (r.errors.length) throw new Error(`${summary}; failed: ${r.errors.join('; ')}`);
    return summary;
  },
};

// IPVS comes first: its chains jump to KUBE-MARK-MASQ, which iptables mode's cleanup also deletes,
// and a referenced chain cannot be deleted; IPVS's cleanup leaves chains other rules still use.
const modes = new Map<ProxyMode, ModeDefinition>([
  ['ipvs', ipvsMode],
  ['iptables', iptablesMode],
  ['nftables', nftablesMode],
]);

/** Modes register here so the CLI, cleanup and mode switching see every mode. */
export function registerMode(mode: ProxyMode, def: ModeDefinition): void {
  modes.set(mode, def);
}

export function modeDefinition(mode: ProxyMode): ModeDefinition | undefined {
  return modes.get(mode);
}

export function registeredModes(): ProxyMode[] {
  return [...modes.keys()];
}

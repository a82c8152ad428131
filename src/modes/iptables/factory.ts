import { familyView, localInterfaceAddresses, masqueradeMark, type RuntimeSettings } from '../../config/runtime.js';
import type { IPFamily } from '../../model/ip.js';
import type { NodeInfo } from '../../model/node.js';
import type { ModeContext } from '../registry.js';
import type { IptablesRuleConfig } from './rules.js';
import type { Proxier } from '../../sync/proxier.js';
import { Iptables } from '../../kernel/iptables.js';
import { dryRunIptablesKernel, realIptablesKernel } from './kernel.js';
import { IptablesProxier } from './proxier.js';

/** Service chains per iptables-nft restore run when a sync writes many (measured: ~1k is the knee). */
export const PHASED_RESTORE_MAX_CHAINS = 1000;

/** Builds iptables mode for one family from the runtime settings. */
export async function createIptablesProxier(ctx: ModeContext): Promise<Proxier> {
  const { settings: s, family } = ctx;
  const kernel = ctx.extra.dryRun ? dryRunIptablesKernel(family, ctx.write) : realIptablesKernel(family, {}, ctx.extra.iptablesBackend);
  const iptables = new Iptables(family, {}, ctx.extra.iptablesBackend);
  const randomFully = ctx.extra.dryRun ? true : await iptables.supportsRandomFully();
  const nftBackend = ctx.extra.dryRun ? false : await iptables.isNftBackend();
  return new IptablesProxier({
    family,
    kernel,
    syncPeriodMs: s.syncPeriodMs,
    log: ctx.log,
    metrics: ctx.metrics,
    requestSync: ctx.requestSync,
    canaryIntervalMs: ctx.extra.dryRun || ctx.extra.once ? 0 : s.syncPeriodMs,
    ruleConfig: (node) => iptablesRuleConfig(s, family, node, randomFully),
    phasedRestoreMaxChains: nftBackend ? PHASED_RESTORE_MAX_CHAINS : undefined,
  });
}

/** The rule configuration for this node and family: shared by the proxier and `audit`. */
export function iptablesRuleConfig(s: RuntimeSettings, family: IPFamily, node: NodeInfo, randomFully: boolean): IptablesRuleConfig {
  const view = familyView(s, node, family, localInterfaceAddresses());
  return {
    family,
    masqueradeMark: masqueradeMark(s.masqueradeBit),
    masqueradeAll: s.masqueradeAll,
    localDetector: view.localDetector,
    localhostNodePorts: s.localhostNodePorts,
    nodePortAddresses: view.nodePortAddresses,
    nodeIP: view.nodeIP,
    randomFully,
    dropInvalid: !s.tcpBeLiberal,
    topology: { nodeName: node.name, zone: node.zone },
    preferSameNode: s.featureGates['PreferSameTrafficDistribution'] ?? true,
  };
}

import { familyView, localInterfaceAddresses, masqueradeMark } from '../../config/runtime.js';
import type { ModeContext } from '../registry.js';
import type { Proxier } from '../../sync/proxier.js';
import { Iptables } from '../../kernel/iptables.js';
import { dryRunIptablesKernel, realIptablesKernel } from './kernel.js';
import { IptablesProxier } from './proxier.js';

/** Builds iptables mode for one family from the runtime settings. */
export async function createIptablesProxier(ctx: ModeContext): Promise<Proxier> {
  const { settings: s, family } = ctx;
  const kernel = ctx.extra.dryRun ? dryRunIptablesKernel(family, ctx.write) : realIptablesKernel(family, {}, ctx.extra.iptablesBackend);
  const randomFully = ctx.extra.dryRun ? true : await new Iptables(family, {}, ctx.extra.iptablesBackend).supportsRandomFully();
  const mark = masqueradeMark(s.masqueradeBit);
  return new IptablesProxier({
    family,
    kernel,
    syncPeriodMs: s.syncPeriodMs,
    log: ctx.log,
    metrics: ctx.metrics,
    requestSync: ctx.requestSync,
    canaryIntervalMs: ctx.extra.dryRun || ctx.extra.once ? 0 : s.syncPeriodMs,
    ruleConfig: (node) => {
      const view = familyView(s, node, family, localInterfaceAddresses());
      return {
        family,
        masqueradeMark: mark,
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
    },
  });
}

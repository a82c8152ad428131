import { familyView, localInterfaceAddresses } from '../../config/runtime.js';
import type { ExtraOptions } from '../../config/types.js';
import { nativeNetlinkStatus, type NativeNetlinkStatus } from '../../kernel/netlink.js';
import type { Proxier } from '../../sync/proxier.js';
import type { ModeContext } from '../registry.js';
import type { NftablesApplier } from './applier.js';
import { dryRunApplier } from './applier-dry-run.js';
import { netlinkApplier } from './applier-netlink.js';
import { nftCommandApplier } from './applier-nft.js';
import { NftablesProxier } from './proxier.js';

export interface ApplierChoice {
  readonly name: 'netlink' | 'nft';
  readonly reason: string;
}

/**
 * --nftables-applier: `netlink` and `nft` are taken as asked (netlink fails when the native
 * module did not load); `auto` prefers the native batch and falls back to the nft binary.
 */
export function chooseApplier(requested: ExtraOptions['nftablesApplier'], native: NativeNetlinkStatus): ApplierChoice {
  if (requested === 'nft') return { name: 'nft', reason: 'requested with --nftables-applier=nft' };
  if (requested === 'netlink') {
    if (!native.available) throw new Error(`--nftables-applier=netlink, but the native module is unavailable: ${native.reason}`);
    return { name: 'netlink', reason: 'requested with --nftables-applier=netlink' };
  }
  return native.available
    ? { name: 'netlink', reason: 'native module loaded' }
    : { name: 'nft', reason: `native module unavailable (${native.reason}); using the nft binary` };
}

/** Builds nftables mode for one family from the runtime settings. */
export async function createNftablesProxier(ctx: ModeContext): Promise<Proxier> {
  const { settings: s, family } = ctx;
  let applier: NftablesApplier;
  if (ctx.extra.dryRun) {
    applier = dryRunApplier(ctx.write);
  } else {
    const choice = chooseApplier(ctx.extra.nftablesApplier, nativeNetlinkStatus());
    ctx.log.info({ family, applier: choice.name, reason: choice.reason }, 'nftables applier');
    applier = choice.name === 'netlink' ? netlinkApplier() : nftCommandApplier();
  }
  const mark = 2 ** s.masqueradeBit;
  const serviceCIDRs: readonly string[] = [];
  return new NftablesProxier({
    family,
    applier,
    log: ctx.log,
    metrics: ctx.metrics,
    requestSync: ctx.extra.dryRun || ctx.extra.once ? undefined : ctx.requestSync,
    ruleConfig: (node) => {
      // nftables mode treats an empty nodePortAddresses as `primary`, unlike iptables mode.
      const view = familyView(s, node, family, localInterfaceAddresses(), ['primary']);
      return {
        family,
        masqueradeMark: mark,
        masqueradeAll: s.masqueradeAll,
        localDetector: view.localDetector,
        nodePortAddresses: view.nodePortAddresses,
        nodeIP: view.nodeIP,
        // ServiceCIDR objects are not watched, so "drop traffic to unallocated ClusterIPs" is off.
        serviceCIDRs,
        topology: { nodeName: node.name, zone: node.zone },
        preferSameNode: s.featureGates['PreferSameTrafficDistribution'] ?? true,
      };
    },
  });
}

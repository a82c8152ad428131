/**
 * One proxier per benchmark mode, built against a scratch namespace, with a way to count what it
 * left in the kernel. The proxiers are the production ones; only the configuration is fixed here.
 */
import { execFileSync } from 'node:child_process';
import { PHASED_RESTORE_MAX_CHAINS } from '../src/modes/iptables/factory.js';
import { realIptablesKernel } from '../src/modes/iptables/kernel.js';
import { IptablesProxier } from '../src/modes/iptables/proxier.js';
import { realIpvsKernel } from '../src/modes/ipvs/kernel.js';
import { IpvsProxier } from '../src/modes/ipvs/proxier.js';
import { netlinkApplier } from '../src/modes/nftables/applier-netlink.js';
import { nftCommandApplier } from '../src/modes/nftables/applier-nft.js';
import { NftablesProxier } from '../src/modes/nftables/proxier.js';
import type { Proxier } from '../src/sync/proxier.js';
import { silentLogger } from '../src/util/log.js';
import { countIptables, countIpvs, countNftables } from './kernel-counts.js';
import { iptablesConfig, ipvsConfig, nftablesConfig, NODE_IP } from './mode-configs.js';
import type { BenchMode, KernelCounts } from './types.js';

export interface ModeDriver {
  readonly proxier: Proxier;
  countKernel(): Promise<KernelCounts>;
}

/** Long enough that no periodic work of the proxier falls inside a benchmark run. */
const SYNC_PERIOD_MS = 3_600_000;

export function createDriver(mode: BenchMode, netns: string): ModeDriver {
  switch (mode) {
    case 'iptables':
    case 'iptables-phased':
      return {
        proxier: new IptablesProxier({
          family: 'IPv4',
          kernel: realIptablesKernel('IPv4', { netns }),
          ruleConfig: (node) => iptablesConfig(node.name, node.zone),
          syncPeriodMs: SYNC_PERIOD_MS,
          log: silentLogger,
          canaryIntervalMs: 0,
          // Upstream writes every sync as one iptables-restore; phased restores are our iptables-nft answer.
          phasedRestoreMaxChains: mode === 'iptables-phased' ? PHASED_RESTORE_MAX_CHAINS : undefined,
        }),
        countKernel: () => countIptables(netns),
      };
    case 'nftables-netlink':
    case 'nftables-nft':
      return {
        proxier: new NftablesProxier({
          family: 'IPv4',
          applier: mode === 'nftables-netlink' ? netlinkApplier({ netns }) : nftCommandApplier({ netns }),
          ruleConfig: (node) => nftablesConfig(node.name, node.zone),
          log: silentLogger,
        }),
        countKernel: () => countNftables(netns),
      };
    case 'ipvs': {
      // A node address on a link of its own, so the NodePort tenth gets node-IP virtual servers.
      execFileSync('ip', ['-n', netns, 'link', 'add', 'eth0', 'type', 'dummy']);
      execFileSync('ip', ['-n', netns, 'addr', 'add', `${NODE_IP}/24`, 'dev', 'eth0']);
      execFileSync('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
      return {
        proxier: new IpvsProxier({
          family: 'IPv4',
          kernel: realIpvsKernel('IPv4', 'default', { netns }),
          ruleConfig: (node, addresses) => ipvsConfig(node.name, node.zone, addresses),
          excludeCIDRs: [],
          strictARP: false,
          timeouts: { tcp: 0, tcpFin: 0, udp: 0 },
          syncPeriodMs: SYNC_PERIOD_MS,
          gracefulCheckIntervalMs: 0,
          log: silentLogger,
        }),
        countKernel: () => countIpvs(netns),
      };
    }
  }
}

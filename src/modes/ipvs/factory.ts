import { familyView, masqueradeMark, type RuntimeSettings } from '../../config/runtime.js';
import { parseDuration } from '../../config/duration.js';
import { Iptables } from '../../kernel/iptables.js';
import type { IPFamily } from '../../model/ip.js';
import type { NodeInfo } from '../../model/node.js';
import type { Proxier } from '../../sync/proxier.js';
import type { ModeContext } from '../registry.js';
import { nodePortIPs } from './addresses.js';
import { ensureIpvsUsable } from './capability.js';
import type { IpvsRuleConfig } from './desired.js';
import { DEFAULT_GRACEFUL_CHECK_INTERVAL_MS } from './graceful.js';
import { dryRunIpvsKernel, realIpvsKernel } from './kernel.js';
import { IpvsProxier } from './proxier.js';

/**
 * Not a kube-proxy setting: shortens upstream's fixed 1-minute re-check of draining real servers,
 * so tests of graceful termination do not wait minutes (a Go duration, e.g. "2s").
 */
export const GRACEFUL_CHECK_INTERVAL_ENV = 'KPT_IPVS_GRACEFUL_CHECK_INTERVAL';

export function gracefulCheckIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[GRACEFUL_CHECK_INTERVAL_ENV];
  const ms = text ? parseDuration(text) : undefined;
  return ms !== undefined && ms > 0 ? ms : DEFAULT_GRACEFUL_CHECK_INTERVAL_MS;
}

/** Builds IPVS mode for one family from the runtime settings. */
export async function createIpvsProxier(ctx: ModeContext): Promise<Proxier> {
  const { settings: s, family } = ctx;
  const dryRun = ctx.extra.dryRun;
  const kernel = dryRun ? dryRunIpvsKernel(family, ctx.write) : realIpvsKernel(family, ctx.extra.iptablesBackend);
  if (!dryRun) await ensureIpvsUsable(kernel, s.ipvs.scheduler);
  const randomFully = dryRun ? true : await new Iptables(family, {}, ctx.extra.iptablesBackend).supportsRandomFully();
  const background = !dryRun && !ctx.extra.once;
  return new IpvsProxier({
    family,
    kernel,
    ruleConfig: (node, nodeAddresses) => ipvsRuleConfig(s, family, node, nodeAddresses, randomFully),
    excludeCIDRs: s.ipvs.excludeCIDRs,
    strictARP: s.ipvs.strictARP,
    timeouts: { tcp: s.ipvs.tcpTimeoutSeconds, tcpFin: s.ipvs.tcpFinTimeoutSeconds, udp: s.ipvs.udpTimeoutSeconds },
    syncPeriodMs: s.syncPeriodMs,
    gracefulCheckIntervalMs: background ? gracefulCheckIntervalMs() : 0,
    log: ctx.log,
    metrics: ctx.metrics,
    ...(background ? { requestSync: ctx.requestSync } : {}),
  });
}

/** The rule configuration for this node and family; `nodeAddresses` are the local ones off kube-ipvs0. */
export function ipvsRuleConfig(s: RuntimeSettings, family: IPFamily, node: NodeInfo, nodeAddresses: readonly string[], randomFully: boolean): IpvsRuleConfig {
  const view = familyView(s, node, family, nodeAddresses);
  return {
    family,
    scheduler: s.ipvs.scheduler,
    masqueradeMark: masqueradeMark(s.masqueradeBit),
    masqueradeAll: s.masqueradeAll,
    localDetector: view.localDetector,
    randomFully,
    nodeIP: view.nodeIP,
    nodePortIPs: nodePortIPs(view.nodePortAddresses, nodeAddresses),
    nodeAddresses: new Set(nodeAddresses),
    topology: { nodeName: node.name, zone: node.zone },
    preferSameNode: s.featureGates['PreferSameTrafficDistribution'] ?? true,
  };
}

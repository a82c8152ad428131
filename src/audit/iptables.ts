import { iptablesRuleConfig } from '../modes/iptables/factory.js';
import { Iptables } from '../kernel/iptables.js';
import type { ModeAuditContext } from '../modes/registry.js';
import { iptablesJumpRules } from '../modes/iptables/jumps.js';
import { ChainNames } from '../modes/iptables/naming.js';
import { generateIptablesRules, type IptablesRuleConfig } from '../modes/iptables/rules.js';
import { categorizeEndpoints } from '../model/topology.js';
import { parseIptablesDump } from './iptables-canonical.js';
import { compareIptables } from './iptables-compare.js';
import type { DriftReport } from './report.js';

/** The rule configuration the iptables proxier uses for this node. */
export function iptablesRuleConfigFor(ctx: Pick<ModeAuditContext, 'settings' | 'family' | 'node'>, randomFully: boolean): IptablesRuleConfig {
  return iptablesRuleConfig(ctx.settings, ctx.family, ctx.node, randomFully);
}

/** What a full sync of this snapshot would write, as iptables-restore input, plus who owns what. */
export function desiredIptablesState(ctx: Pick<ModeAuditContext, 'settings' | 'family' | 'node' | 'snapshot'>, randomFully: boolean) {
  const config = iptablesRuleConfigFor(ctx, randomFully);
  const names = new ChainNames();
  const ruleSet = generateIptablesRules({ snapshot: ctx.snapshot, config, changedServices: undefined, existingNatChains: undefined, names });
  const chainOwners = new Map<string, string>();
  const endpointChains = new Map<string, string>();
  const servicePorts: string[] = [];
  for (const sp of ctx.snapshot.sortedServicePorts()) {
    servicePorts.push(sp.spn);
    const chains = names.service(sp);
    for (const chain of [chains.clusterPolicy, chains.localPolicy, chains.external, chains.firewall]) chainOwners.set(chain, sp.spn);
    const { allReachableEndpoints } = categorizeEndpoints(ctx.snapshot.endpointsOf(sp), sp, config.topology, { preferSameNode: config.preferSameNode });
    for (const ep of allReachableEndpoints) {
      const chain = names.endpoint(sp, ep);
      chainOwners.set(chain, sp.spn);
      endpointChains.set(chain, `${sp.spn} -> ${ep.endpoint}`);
    }
  }
  return { ruleSet, chainOwners, endpointChains, servicePorts };
}

/**
 * iptables mode's audit: the generator's full-sync output for the API's state against
 * `iptables-save` (all tables at once: naming a table would make the legacy backend create it).
 */
export async function auditIptables(ctx: ModeAuditContext): Promise<DriftReport> {
  const ipt = new Iptables(ctx.family, {}, ctx.extra.iptablesBackend);
  const randomFully = await ipt.supportsRandomFully();
  const desired = desiredIptablesState(ctx, randomFully);
  const save = await ipt.save();
  return compareIptables({
    family: ctx.family,
    desired: parseIptablesDump(desired.ruleSet.text),
    actual: parseIptablesDump(save),
    jumps: iptablesJumpRules(desired.ruleSet.localhostNodePortsActive),
    servicePorts: desired.servicePorts,
    chainOwners: desired.chainOwners,
    endpointChains: desired.endpointChains,
  });
}

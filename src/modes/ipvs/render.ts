import type { IpvsDesiredState } from './desired.js';
import { IPSET_SPECS } from './ipset-specs.js';
import { ipsetName } from './naming.js';

/**
 * The desired state as stable, reviewable JSON (golden files, --dry-run readers): virtual servers
 * in service-port order with their real servers, kube-ipvs0's addresses, and every set with its
 * type and sorted entries under the family's set names.
 */
export function formatDesiredState(desired: IpvsDesiredState): string {
  const sortedEntries = (base: string): string[] => [...(desired.ipsets.get(base) ?? [])].sort();
  const doc = {
    family: desired.family,
    virtualServers: [...desired.virtualServers.values()].map((vs) => ({
      virtualServer: vs.key,
      role: vs.role,
      servicePort: vs.servicePortKey,
      scheduler: vs.scheduler,
      flags: vs.flags,
      timeout: vs.timeout,
      realServers: vs.realServers.map((rs) => rs.key),
    })),
    kubeIpvs0: desired.boundAddresses,
    ipsets: Object.fromEntries(IPSET_SPECS.map((spec) => [ipsetName(spec.base, desired.family), { type: spec.type, entries: sortedEntries(spec.base) }])),
    noNodeAccess: desired.noNodeAccess,
    noLocalEndpoints: desired.noLocalEndpoints,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

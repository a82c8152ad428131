import type { IpvsDestinationInfo, IpvsOperation, IpvsServiceInfo } from '../../kernel/netlink.js';
import { cidrContains, type CIDR, type IPFamily } from '../../model/ip.js';
import type { Protocol } from '../../model/service-port.js';
import { FLAG_HASHED, type DesiredVirtualServer, type IpvsDesiredState } from './desired.js';
import { destinationKey, familyNumber, protocolOf, serviceKeyOf, type KernelIpvsState } from './kernel-state.js';

/** A real server the desired state no longer has; graceful termination decides how it goes. */
export interface RealServerRemoval {
  readonly vsKey: string;
  readonly protocol: Protocol;
  readonly service: ReturnType<typeof serviceKeyOf>;
  readonly destination: IpvsDestinationInfo;
}

export interface IpvsPlan {
  /** Service and destination additions and edits, in the order they must run. */
  readonly ops: readonly IpvsOperation[];
  /** Real servers to remove (gracefully for TCP with connections). */
  readonly removals: readonly RealServerRemoval[];
  /** Draining real servers that are desired again: their weight goes back to 1 in `ops`. */
  readonly restored: readonly { readonly vsKey: string; readonly rsKey: string }[];
  /** Virtual servers in the kernel that nothing wants: deleted after everything else. */
  readonly deleteServices: readonly IpvsOperation[];
  readonly deletedServiceKeys: readonly string[];
  readonly counts: {
    readonly servicesAdded: number;
    readonly servicesEdited: number;
    readonly servicesDeleted: number;
    readonly destinationsAdded: number;
    readonly weightsRestored: number;
  };
}

export interface IpvsDiffOptions {
  /** Virtual servers inside these are never deleted (ipvs.excludeCIDRs). */
  readonly excludeCIDRs: readonly CIDR[];
  /** Whether a real server is draining (in graceful termination). */
  readonly isDraining: (vsKey: string, rsKey: string) => boolean;
}

function sameService(kernel: IpvsServiceInfo, desired: DesiredVirtualServer): boolean {
  return kernel.scheduler === desired.scheduler && (kernel.flags & ~FLAG_HASHED) === desired.flags && kernel.timeout === desired.timeout;
}

/**
 * What to change so the kernel's IPVS matches the desired state of one family. Pure. Real
 * servers are compared only for the virtual servers whose destinations were listed (all of them
 * on a full sync, the changed services' on a partial one); new virtual servers get all theirs.
 */
export function diffIpvs(desired: IpvsDesiredState, kernel: KernelIpvsState, options: IpvsDiffOptions): IpvsPlan {
  const family = desired.family;
  const adds: IpvsOperation[] = [];
  const edits: IpvsOperation[] = [];
  const destAdds: IpvsOperation[] = [];
  const weightEdits: IpvsOperation[] = [];
  const removals: RealServerRemoval[] = [];
  const restored: { vsKey: string; rsKey: string }[] = [];

  for (const vs of desired.virtualServers.values()) {
    const service = serviceKeyOf(family, vs.address, vs.port, vs.protocol);
    const full = { ...service, scheduler: vs.scheduler, flags: vs.flags, timeout: vs.timeout };
    const existing = kernel.services.get(vs.key);
    if (!existing) {
      adds.push({ op: 'addService', service: full });
      for (const rs of vs.realServers) destAdds.push({ op: 'addDestination', service, destination: { address: rs.address, port: rs.port, weight: 1 } });
      continue;
    }
    if (!sameService(existing, vs)) edits.push({ op: 'editService', service: full });
    const listed = kernel.destinations.get(vs.key);
    if (!listed) continue;
    const current = new Map(listed.map((d) => [destinationKey(d), d]));
    for (const rs of vs.realServers) {
      const have = current.get(rs.key);
      if (!have) {
        destAdds.push({ op: 'addDestination', service, destination: { address: rs.address, port: rs.port, weight: 1 } });
      } else if (have.weight !== 1) {
        // A draining endpoint that came back, or a weight changed behind our back: back to 1.
        weightEdits.push({ op: 'editDestination', service, destination: { address: rs.address, port: rs.port, weight: 1 } });
        if (options.isDraining(vs.key, rs.key)) restored.push({ vsKey: vs.key, rsKey: rs.key });
      }
    }
    const wanted = new Set(vs.realServers.map((rs) => rs.key));
    for (const [rsKey, d] of current) {
      if (wanted.has(rsKey) || options.isDraining(vs.key, rsKey)) continue;
      removals.push({ vsKey: vs.key, protocol: vs.protocol, service, destination: d });
    }
  }

  const deleteServices: IpvsOperation[] = [];
  const deletedServiceKeys: string[] = [];
  for (const [key, s] of kernel.services) {
    if (desired.virtualServers.has(key) || !isOurs(s, family, options.excludeCIDRs)) continue;
    const protocol = protocolOf(s)!;
    deleteServices.push({ op: 'deleteService', service: serviceKeyOf(family, s.address!, s.port!, protocol) });
    deletedServiceKeys.push(key);
  }

  return {
    ops: [...adds, ...edits, ...destAdds, ...weightEdits],
    removals,
    restored,
    deleteServices,
    deletedServiceKeys,
    counts: {
      servicesAdded: adds.length,
      servicesEdited: edits.length,
      servicesDeleted: deleteServices.length,
      destinationsAdded: destAdds.length,
      weightsRestored: weightEdits.length,
    },
  };
}

/** Upstream's cleanLegacyService skips the other family and anything in --ipvs-exclude-cidrs. */
function isOurs(s: IpvsServiceInfo, family: IPFamily, excludeCIDRs: readonly CIDR[]): boolean {
  if (s.family !== familyNumber(family) || s.address === undefined) return false;
  return !excludeCIDRs.some((cidr) => cidrContains(cidr, s.address!));
}

import type { BatchResults, IpvsDestinationInfo, IpvsOperation, IpvsServiceKey } from '../../kernel/netlink.js';
import type { Protocol } from '../../model/service-port.js';
import type { RealServerRemoval } from './diff.js';
import { destinationKey } from './kernel-state.js';

/** Upstream's rsCheckDeleteInterval: how often draining real servers are looked at again. */
export const DEFAULT_GRACEFUL_CHECK_INTERVAL_MS = 60_000;

/** A real server at weight 0, waiting for its connections to end. */
export interface DrainingRealServer {
  readonly vsKey: string;
  readonly rsKey: string;
  readonly protocol: Protocol;
  readonly service: IpvsServiceKey;
  readonly address: string;
  readonly port: number;
}

/**
 * Upstream's graceful deletion decision: UDP and SCTP real servers go at once (stale flows are
 * expired by expire_nodest_conn and the conntrack cleanup); TCP ones only without connections,
 * otherwise they drain at weight 0. Inactive connections (TIME_WAIT, CLOSE...) count too.
 */
export function removalMode(protocol: Protocol, destination: Pick<IpvsDestinationInfo, 'activeConnections' | 'inactiveConnections'>): 'delete' | 'drain' {
  if (protocol !== 'TCP') return 'delete';
  return destination.activeConnections + destination.inactiveConnections > 0 ? 'drain' : 'delete';
}

export interface RemovalPlan {
  readonly ops: readonly IpvsOperation[];
  /** Parallel to `ops`: the real server each operation puts on the draining list, if any. */
  readonly draining: readonly (DrainingRealServer | undefined)[];
}

export function planRemovals(removals: readonly RealServerRemoval[]): RemovalPlan {
  const ops: IpvsOperation[] = [];
  const draining: (DrainingRealServer | undefined)[] = [];
  for (const r of removals) {
    const { address, port } = r.destination;
    if (removalMode(r.protocol, r.destination) === 'delete') {
      ops.push({ op: 'deleteDestination', service: r.service, destination: { address, port } });
      draining.push(undefined);
    } else {
      ops.push({ op: 'editDestination', service: r.service, destination: { address, port, weight: 0 } });
      draining.push({ vsKey: r.vsKey, rsKey: destinationKey(r.destination), protocol: r.protocol, service: r.service, address, port });
    }
  }
  return { ops, draining };
}

export interface GracefulKernel {
  listDestinations(service: IpvsServiceKey): Promise<IpvsDestinationInfo[]>;
  applyIpvs(ops: readonly IpvsOperation[]): Promise<BatchResults>;
}

/**
 * The draining list (upstream's GracefulTerminationManager). The proxier adds real servers it set
 * to weight 0 and takes back those that are wanted again; `check` deletes the drained ones.
 */
export class GracefulTermination {
  private readonly draining = new Map<string, DrainingRealServer>();

  private static key(vsKey: string, rsKey: string): string {
    return `${vsKey}/${rsKey}`;
  }

  has(vsKey: string, rsKey: string): boolean {
    return this.draining.has(GracefulTermination.key(vsKey, rsKey));
  }

  add(rs: DrainingRealServer): void {
    this.draining.set(GracefulTermination.key(rs.vsKey, rs.rsKey), rs);
  }

  remove(vsKey: string, rsKey: string): void {
    this.draining.delete(GracefulTermination.key(vsKey, rsKey));
  }

  /** A deleted virtual server takes its real servers with it. */
  forgetVirtualServer(vsKey: string): void {
    for (const [key, rs] of this.draining) if (rs.vsKey === vsKey) this.draining.delete(key);
  }

  get size(): number {
    return this.draining.size;
  }

  list(): DrainingRealServer[] {
    return [...this.draining.values()];
  }

  /**
   * One pass over the draining real servers: those without connections are deleted, those that
   * vanished (or whose virtual server did) are forgotten. Returns how many were deleted.
   */
  async check(kernel: GracefulKernel): Promise<{ deleted: number; remaining: number }> {
    const byService = new Map<string, DrainingRealServer[]>();
    for (const rs of this.draining.values()) {
      const list = byService.get(rs.vsKey) ?? [];
      list.push(rs);
      byService.set(rs.vsKey, list);
    }
    const ops: IpvsOperation[] = [];
    const deleting: DrainingRealServer[] = [];
    for (const [vsKey, list] of byService) {
      let listed: IpvsDestinationInfo[];
      try {
        listed = await kernel.listDestinations(list[0]!.service);
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT' || (err as { code?: string }).code === 'ESRCH') {
          this.forgetVirtualServer(vsKey);
          continue;
        }
        throw err;
      }
      const byKey = new Map(listed.map((d) => [destinationKey(d), d]));
      for (const rs of list) {
        const d = byKey.get(rs.rsKey);
        if (!d) this.remove(rs.vsKey, rs.rsKey);
        else if (d.activeConnections + d.inactiveConnections === 0) {
          ops.push({ op: 'deleteDestination', service: rs.service, destination: { address: rs.address, port: rs.port } });
          deleting.push(rs);
        }
      }
    }
    let deleted = 0;
    if (ops.length > 0) {
      const results = await kernel.applyIpvs(ops);
      results.results.forEach((r, i) => {
        const rs = deleting[i]!;
        // ENOENT: someone else deleted it already; either way it is gone.
        if (r.ok || r.code === 'ENOENT') {
          this.remove(rs.vsKey, rs.rsKey);
          if (r.ok) deleted++;
        }
      });
    }
    return { deleted, remaining: this.draining.size };
  }
}

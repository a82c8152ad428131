import type { Endpoint } from './endpoint.js';
import type { IPFamily } from './ip.js';
import type { NodeInfo } from './node.js';
import type { ServicePort } from './service-port.js';

const NO_ENDPOINTS: readonly Endpoint[] = Object.freeze([]);

/** Everything one single-family proxier programs: an immutable view, safe to keep. */
export class FamilySnapshot {
  private sorted: readonly ServicePort[] | undefined;

  constructor(
    readonly family: IPFamily,
    /** Service ports by ServicePort.key. */
    readonly servicePorts: ReadonlyMap<string, ServicePort>,
    /** Endpoints by service port key (sorted by `ip:port`). */
    readonly endpoints: ReadonlyMap<string, readonly Endpoint[]>,
  ) {}

  /** Service ports in key order, so generated rule sets are deterministic. */
  sortedServicePorts(): readonly ServicePort[] {
    if (!this.sorted) {
      this.sorted = [...this.servicePorts.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    return this.sorted;
  }

  endpointsOf(sp: ServicePort): readonly Endpoint[] {
    return this.endpoints.get(sp.key) ?? NO_ENDPOINTS;
  }

  static empty(family: IPFamily): FamilySnapshot {
    return new FamilySnapshot(family, new Map(), new Map());
  }
}

export interface Snapshot {
  readonly node: NodeInfo;
  readonly families: Readonly<Record<IPFamily, FamilySnapshot>>;
}

/** What one sync takes from the tracker. */
export interface Checkout {
  readonly snapshot: Snapshot;
  /** `ns/name` of services whose ports or endpoints changed since the previous checkout. */
  readonly changedServices: ReadonlySet<string>;
  /** The node's topology labels changed: every service must be rewritten. */
  readonly topologyChanged: boolean;
  /** EndpointSlice last-change-trigger-times (ms) per changed service, for network programming latency. */
  readonly triggerTimes: ReadonlyMap<string, readonly number[]>;
  /** A changed service has UDP ports: stale UDP conntrack entries may need deleting after the sync. */
  readonly conntrackCleanupRequired: boolean;
}

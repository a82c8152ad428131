import { isProxyable, namespacedName, type EndpointSlice, type Node, type Service } from './k8s.js';
import { mergeSlices, parseEndpointSlice, type Endpoint, type ParsedSlice } from './endpoint.js';
import { deepEqual } from './equal.js';
import { IP_FAMILIES, type IPFamily } from './ip.js';
import { nodeInfoFrom, unknownNode, type NodeInfo } from './node.js';
import { parseService, type ServicePort } from './service-port.js';
import { FamilySnapshot, type Checkout, type Snapshot } from './snapshot.js';

export type ObjectKind = 'Service' | 'EndpointSlice' | 'Node';

export interface TrackerOptions {
  readonly nodeName: string;
  /** Called when an object is skipped because it is malformed; the rest is unaffected. */
  readonly onInvalid?: (kind: ObjectKind, name: string, reason: string) => void;
  /** Trigger times before this (ms) are ignored: they predate us and would inflate latency. */
  readonly startTimeMs?: number;
}

type PerFamily<T> = Record<IPFamily, T>;

interface FamilyState {
  ports: Map<string, ServicePort>;
  endpoints: Map<string, readonly Endpoint[]>;
  /** Service `ns/name` → keys it owns in `ports` / `endpoints`, so a service can be replaced whole. */
  portKeys: Map<string, readonly string[]>;
  endpointKeys: Map<string, readonly string[]>;
}

export interface TrackerStats {
  readonly serviceChangesPending: number;
  readonly endpointChangesPending: number;
  readonly serviceChangesTotal: number;
  readonly endpointChangesTotal: number;
  readonly invalidObjectsTotal: number;
}

/**
 * Folds Service, EndpointSlice and Node events into immutable snapshots, as upstream's
 * ServiceChangeTracker + EndpointsChangeTracker do: each event is compared at once with what the
 * last sync applied, so an object that returns to its applied state leaves nothing pending, and
 * `checkout()` hands the next sync the net change per service.
 */
export class ChangeTracker {
  private readonly applied: PerFamily<FamilyState>;
  private readonly slicesByService = new Map<string, Map<string, ParsedSlice>>();
  private readonly sliceOwner = new Map<string, string>();
  private readonly pendingPorts = new Map<string, PerFamily<readonly ServicePort[]>>();
  private readonly pendingEndpoints = new Map<string, PerFamily<Map<string, Endpoint[]>>>();
  private readonly triggerTimes = new Map<string, number[]>();
  private node: NodeInfo;
  private topologyChanged = false;
  private snapshot: Snapshot;
  private stats = { serviceChangesTotal: 0, endpointChangesTotal: 0, invalidObjectsTotal: 0 };

  constructor(private readonly opts: TrackerOptions) {
    const fresh = (): FamilyState => ({ ports: new Map(), endpoints: new Map(), portKeys: new Map(), endpointKeys: new Map() });
    this.applied = { IPv4: fresh(), IPv6: fresh() };
    this.node = unknownNode(opts.nodeName);
    this.snapshot = { node: this.node, families: { IPv4: FamilySnapshot.empty('IPv4'), IPv6: FamilySnapshot.empty('IPv6') } };
  }

  /** True when a sync would change something. */
  hasPendingChanges(): boolean {
    return this.pendingPorts.size > 0 || this.pendingEndpoints.size > 0 || this.topologyChanged;
  }

  getStats(): TrackerStats {
    return { ...this.stats, serviceChangesPending: this.pendingPorts.size, endpointChangesPending: this.pendingEndpoints.size };
  }

  /** The latest applied snapshot (what the last checkout returned). */
  current(): Snapshot {
    return this.snapshot;
  }

  /** Returns whether the event left a change pending. */
  upsertService(svc: Service): boolean {
    const name = namespacedName(svc);
    if (!isProxyable(svc)) return this.deleteService(name);
    this.stats.serviceChangesTotal++;
    const parsed = parseService(svc);
    if (parsed.kind === 'invalid') {
      // Keep whatever was last applied for this service: a bad edit must not tear down its rules.
      this.reportInvalid('Service', name, parsed.reason);
      return this.hasPendingChanges();
    }
    const ports = parsed.kind === 'ports' ? parsed.ports : { IPv4: [], IPv6: [] };
    this.setPendingPorts(name, ports);
    return this.hasPendingChanges();
  }

  deleteService(name: string): boolean {
    this.stats.serviceChangesTotal++;
    this.setPendingPorts(name, { IPv4: [], IPv6: [] });
    return this.hasPendingChanges();
  }

  upsertEndpointSlice(slice: EndpointSlice): boolean {
    const sliceKey = namespacedName(slice);
    if (!isProxyable(slice)) return this.deleteEndpointSlice(sliceKey);
    this.stats.endpointChangesTotal++;
    const parsed = parseEndpointSlice(slice, this.opts.nodeName);
    if (parsed.kind === 'invalid') {
      this.reportInvalid('EndpointSlice', sliceKey, parsed.reason);
      return this.hasPendingChanges();
    }
    if (parsed.kind === 'ignored') return this.deleteEndpointSlice(sliceKey);
    const owner = parsed.slice.serviceName;
    const previousOwner = this.sliceOwner.get(sliceKey);
    if (previousOwner !== undefined && previousOwner !== owner) this.removeSlice(sliceKey, previousOwner);
    this.sliceOwner.set(sliceKey, owner);
    let slices = this.slicesByService.get(owner);
    if (!slices) this.slicesByService.set(owner, (slices = new Map()));
    slices.set(sliceKey, parsed.slice);
    const t = parsed.slice.triggerTimeMs;
    if (t !== undefined && t >= (this.opts.startTimeMs ?? 0)) {
      const list = this.triggerTimes.get(owner) ?? [];
      list.push(t);
      this.triggerTimes.set(owner, list);
    }
    this.recomputeEndpoints(owner);
    return this.hasPendingChanges();
  }

  deleteEndpointSlice(sliceKey: string): boolean {
    const owner = this.sliceOwner.get(sliceKey);
    if (owner === undefined) return this.hasPendingChanges();
    this.stats.endpointChangesTotal++;
    this.removeSlice(sliceKey, owner);
    return this.hasPendingChanges();
  }

  /**
   * Returns true when what the rules depend on changed: the zone (topology hints), the node's
   * addresses (firewall and NodePort rules name them) or its pod CIDRs (NodeCIDR detection).
   * Upstream exits on address and pod CIDR changes to be restarted; a full sync does the same
   * work without the restart, which also serves the standalone mode.
   */
  setNode(node: Node): boolean {
    const next = nodeInfoFrom(node);
    const changed =
      next.zone !== this.node.zone || !deepEqual(next.addresses, this.node.addresses) || !deepEqual(next.podCIDRs, this.node.podCIDRs);
    this.node = next;
    if (changed) this.topologyChanged = true;
    return changed;
  }

  nodeInfo(): NodeInfo {
    return this.node;
  }

  /** Applies every pending change and returns the new snapshot with what changed. */
  checkout(): Checkout {
    const changed = new Set<string>([...this.pendingPorts.keys(), ...this.pendingEndpoints.keys()]);
    const topologyChanged = this.topologyChanged;
    let conntrackCleanupRequired = false;
    const families = {} as PerFamily<FamilySnapshot>;
    for (const family of IP_FAMILIES) {
      const prev = this.snapshot.families[family];
      const state = this.applied[family];
      if (changed.size === 0) {
        families[family] = prev;
        continue;
      }
      // Copy on write: the previous snapshot stays valid for anyone who still holds it.
      state.ports = new Map(state.ports);
      state.endpoints = new Map(state.endpoints);
      for (const [name, ports] of this.pendingPorts) {
        for (const key of state.portKeys.get(name) ?? []) state.ports.delete(key);
        const keys = ports[family].map((sp) => sp.key);
        for (const sp of ports[family]) state.ports.set(sp.key, sp);
        if (keys.length > 0) state.portKeys.set(name, keys);
        else state.portKeys.delete(name);
      }
      for (const [name, byKey] of this.pendingEndpoints) {
        for (const key of state.endpointKeys.get(name) ?? []) {
          if (key.endsWith('/UDP')) conntrackCleanupRequired = true;
          state.endpoints.delete(key);
        }
        for (const [key, eps] of byKey[family]) {
          if (key.endsWith('/UDP')) conntrackCleanupRequired = true;
          state.endpoints.set(key, eps);
        }
        if (byKey[family].size > 0) state.endpointKeys.set(name, [...byKey[family].keys()]);
        else state.endpointKeys.delete(name);
      }
      families[family] = new FamilySnapshot(family, state.ports, state.endpoints);
    }
    const triggerTimes = new Map<string, readonly number[]>();
    for (const name of changed) {
      const times = this.triggerTimes.get(name);
      if (times) triggerTimes.set(name, times);
      this.triggerTimes.delete(name);
    }
    this.pendingPorts.clear();
    this.pendingEndpoints.clear();
    this.topologyChanged = false;
    this.snapshot = { node: this.node, families };
    return { snapshot: this.snapshot, changedServices: changed, topologyChanged, triggerTimes, conntrackCleanupRequired };
  }

  private reportInvalid(kind: ObjectKind, name: string, reason: string): void {
    this.stats.invalidObjectsTotal++;
    this.opts.onInvalid?.(kind, name, reason);
  }

  private setPendingPorts(name: string, ports: PerFamily<readonly ServicePort[]>): void {
    const unchanged = IP_FAMILIES.every((f) => {
      const keys = this.applied[f].portKeys.get(name) ?? [];
      const applied = keys.map((k) => this.applied[f].ports.get(k));
      return deepEqual(applied, ports[f]);
    });
    if (unchanged) this.pendingPorts.delete(name);
    else this.pendingPorts.set(name, ports);
  }

  private removeSlice(sliceKey: string, owner: string): void {
    this.sliceOwner.delete(sliceKey);
    const slices = this.slicesByService.get(owner);
    slices?.delete(sliceKey);
    if (slices && slices.size === 0) this.slicesByService.delete(owner);
    // Upstream drops the trigger times of a deleted slice's service: the deletion is not a
    // change whose programming latency the EndpointSlice controller measured.
    this.triggerTimes.delete(owner);
    this.recomputeEndpoints(owner);
  }

  private recomputeEndpoints(name: string): void {
    const slices = [...(this.slicesByService.get(name)?.values() ?? [])];
    const next = { IPv4: mergeSlices(slices, 'IPv4'), IPv6: mergeSlices(slices, 'IPv6') };
    const unchanged = IP_FAMILIES.every((f) => {
      const keys = this.applied[f].endpointKeys.get(name) ?? [];
      if (keys.length !== next[f].size) return false;
      return keys.every((k) => next[f].has(k) && deepEqual(this.applied[f].endpoints.get(k), next[f].get(k)));
    });
    if (unchanged) this.pendingEndpoints.delete(name);
    else this.pendingEndpoints.set(name, next);
  }
}

import type { IPFamily } from '../model/ip.js';
import type { NodeInfo } from '../model/node.js';
import type { FamilySnapshot } from '../model/snapshot.js';

export type ProxyMode = 'iptables' | 'ipvs' | 'nftables';
export const PROXY_MODES: readonly ProxyMode[] = ['iptables', 'ipvs', 'nftables'];

/** One sync for one family: the snapshot to program and what changed since the last one. */
export interface SyncRequest {
  readonly snapshot: FamilySnapshot;
  readonly node: NodeInfo;
  /** `ns/name` of services changed since the previous sync request. */
  readonly changedServices: ReadonlySet<string>;
  /** Forces a full sync (e.g. the node's topology labels changed). */
  readonly forceFullSync: boolean;
}

export interface SyncReport {
  readonly full: boolean;
  /** Time spent computing what to write (pure generation). */
  readonly generateMs: number;
  /** Time spent in the kernel applier (child process or netlink). */
  readonly applyMs: number;
  /** Services with a Local policy and no local endpoints. */
  readonly noLocalEndpoints: { readonly internal: number; readonly external: number };
}

/**
 * A single-family data plane. It owns its state between syncs (what it applied, whether the next
 * sync must be full); a failed sync throws, and the proxier makes the next one a full sync.
 */
export interface Proxier {
  readonly mode: ProxyMode;
  readonly family: IPFamily;
  /** Privileged one-time setup (chains, sysctls); called once before the first sync. */
  setup(): Promise<void>;
  sync(request: SyncRequest): Promise<SyncReport>;
  /** Background work (canary monitors, graceful termination); stopped on shutdown. */
  stop(): Promise<void>;
}

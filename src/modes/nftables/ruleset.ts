/**
 * The pure core of nftables mode: from a snapshot, the configuration and what the kernel holds,
 * the one transaction that brings the kernel to the desired state, plus the state it will hold
 * once that transaction commits. No kernel access here: the proxier applies and records.
 */
import type { NftJsonDocument } from '../../kernel/nftables-json.js';
import type { FamilySnapshot } from '../../model/snapshot.js';
import { emptyElements, putElement, writeElementDiff, type ElementSignatures } from './elements.js';
import { addrType, ipKeyword } from './expressions.js';
import { MARK_FOR_MASQUERADE, TABLE_NAME, writeLayout, type ElementContainer } from './layout.js';
import { ENDPOINT_CHAIN_PREFIX, type NftablesNames } from './naming.js';
import { servicePortObjects, type NftablesRuleConfig, type ServicePortObjects } from './service-rules.js';
import type { Endpoint } from '../../model/endpoint.js';
import type { ServicePort } from '../../model/service-port.js';
import { Transaction } from './transaction.js';

/** What is in the kernel table (as far as this proxier knows), after the last committed sync. */
export interface AppliedState {
  /** Elements of the diffed sets and maps: key text → verdict signature. */
  readonly elements: ElementSignatures;
  /** Per-service and per-endpoint chains in the table, active or flushed-and-stale. */
  readonly chains: ReadonlySet<string>;
  /** Affinity sets in the table, with their timeout in seconds. */
  readonly affinitySets: ReadonlyMap<string, number>;
  /** Flushed chains waiting to be deleted, with the time (ms) they became stale. */
  readonly staleChains: ReadonlyMap<string, number>;
}

export function emptyAppliedState(): AppliedState {
  return { elements: new Map(), chains: new Set(), affinitySets: new Map(), staleChains: new Map() };
}

/**
 * The objects of unchanged service ports from the previous sync. Snapshots share the ServicePort
 * and endpoint list objects of services that did not change, so identity says "same input"; a
 * partial sync then costs the changed services, not the whole cluster.
 */
export class ServiceObjectsCache {
  private entries = new Map<string, { sp: ServicePort; endpoints: readonly Endpoint[]; config: string; objects: ServicePortObjects }>();
  private next = new Map<string, { sp: ServicePort; endpoints: readonly Endpoint[]; config: string; objects: ServicePortObjects }>();

  get(sp: ServicePort, endpoints: readonly Endpoint[], config: string): ServicePortObjects | undefined {
    const e = this.entries.get(sp.key);
    return e && e.sp === sp && e.endpoints === endpoints && e.config === config ? e.objects : undefined;
  }

  /** Records this sync's objects; call commit() once the sync is done. */
  put(sp: ServicePort, endpoints: readonly Endpoint[], config: string, objects: ServicePortObjects): void {
    // Chain contents are only needed once, when written; keeping them would double the memory.
    this.next.set(sp.key, { sp, endpoints, config, objects: objects.content ? { ...objects, content: undefined } : objects });
  }

  /** Keeps exactly the service ports of the last sync (deleted services drop out). */
  commit(): void {
    this.entries = this.next;
    this.next = new Map();
  }
}

/**
 * The early transactions of a full sync. Some work does not change what traffic sees and can go
 * ahead of the main transaction: creating new chains (empty, unreferenced) and new affinity
 * sets, and writing endpoint chains. An endpoint chain's rules follow from its name (address,
 * port, protocol) and its service's affinity: a new one is unreferenced until the main
 * transaction writes its service chain, and rewriting an existing one (flush and add, atomic in
 * its transaction) yields the rules it already had, or adds or drops the affinity update when
 * affinity was switched. Services whose affinity timeout changed stay in the main transaction.
 *
 * Why: measured here (kernel 6.18, 10k services x 10 endpoints) the kernel needs about 116 s to
 * commit a cold start as one transaction and about 13 s as a few smaller ones, holding the
 * nfnetlink mutex throughout a commit; upstream reached the same conclusion (kubernetes
 * #139328). Everything that routes traffic (service chains, map elements, the layout) stays in
 * the main, atomic transaction. If it fails, the early work is harmless and the next full sync
 * starts from a fresh listing.
 */
class Prelude {
  private readonly done: Transaction[] = [];
  private current: Transaction | undefined;

  constructor(
    private readonly like: Transaction,
    private readonly chunk: number,
  ) {}

  /** The transaction for the next service's early objects (a service is never split). */
  next(): Transaction {
    if (!this.current || this.current.length >= this.chunk) {
      if (this.current) this.done.push(this.current);
      this.current = new Transaction(this.like.family, this.like.table);
      this.current.addTable();
      // Endpoint rules jump to it; on a cold start it does not exist yet ("add" leaves an
      // existing one, rules included, alone).
      this.current.addChain(MARK_FOR_MASQUERADE);
    }
    return this.current;
  }

  documents(): NftJsonDocument[] {
    return [...this.done, ...(this.current ? [this.current] : [])].map((t) => t.document());
  }
}

export interface NftablesSyncInput {
  readonly snapshot: FamilySnapshot;
  readonly config: NftablesRuleConfig;
  readonly names: NftablesNames;
  /** Reused objects of unchanged services; omitted, everything is recomputed. */
  readonly cache?: ServiceObjectsCache;
  readonly applied: AppliedState;
  /**
   * Whether `applied.chains` is known to list every per-service chain in the kernel (false after
   * a failed listing): only then may a chain absent from it be created without a flush.
   */
  readonly chainsKnown?: boolean;
  /** Rewrite the layout and every service; element maps are flushed and refilled. */
  readonly full: boolean;
  /** The first sync since start: base chains are deleted and recreated once. */
  readonly firstSync: boolean;
  /** Services (`ns/name`) whose chains must be rewritten in a partial sync. */
  readonly changedServices: ReadonlySet<string>;
  /** Now, in ms: the time stamp for newly stale chains. */
  readonly now: number;
  /**
   * Full syncs only: create new per-service chains and affinity sets and write endpoint chains
   * in transactions of about this many commands before the main one (0 or undefined: one
   * transaction). See Prelude.
   */
  readonly coldStartChunk?: number;
}

export interface NftablesSyncStats {
  readonly servicePorts: number;
  readonly servicePortsWritten: number;
  readonly chainsWritten: number;
  readonly rulesWritten: number;
  readonly activeChains: number;
  readonly elementsAdded: number;
  readonly elementsDeleted: number;
  readonly staleChainsFlushed: number;
  readonly affinitySetsDeleted: number;
  readonly noLocalEndpoints: { readonly internal: number; readonly external: number };
  readonly skippedLoopbackNodePortIPs: readonly string[];
}

export interface NftablesSyncPlan {
  /** Transactions to apply, in order, before `document` (full syncs with new chains only). */
  readonly prelude: readonly NftJsonDocument[];
  readonly document: NftJsonDocument;
  /** The applied state once `document` has committed. */
  readonly next: AppliedState;
  readonly stats: NftablesSyncStats;
}

/**
 * Builds one sync's transaction (preceded, on full syncs that create many chains, by the early
 * transactions of Prelude). Order inside it matters for the kernel: chains exist before
 * rules and map elements point at them; a set is recreated only after the chains referring to it
 * are flushed; stale chains are flushed (their deletion waits for a later transaction, see
 * staleChainDeletion) and stale affinity sets, no longer referenced, are deleted last.
 */
export function buildSyncPlan(input: NftablesSyncInput): NftablesSyncPlan {
  const { snapshot, config, names, applied, full } = input;
  const tx = new Transaction(ipKeyword(config.family), TABLE_NAME);
  const layout = full ? writeLayout(tx, config, input.firstSync) : { skippedLoopbackNodePortIPs: [] };

  const desired = emptyElements();
  const activeChains = new Set<string>();
  const activeAffinitySets = new Map<string, number>();
  let servicePortsWritten = 0;
  let chainsWritten = 0;
  let rulesWritten = 0;
  let noLocalInternal = 0;
  let noLocalExternal = 0;
  const servicePorts = snapshot.sortedServicePorts();
  const cache = input.cache;
  const configKey = cache ? JSON.stringify(config) : '';
  const chainsKnown = input.chainsKnown ?? true;
  const prelude = full && chainsKnown && input.coldStartChunk ? new Prelude(tx, input.coldStartChunk) : undefined;

  for (const sp of servicePorts) {
    const write = full || input.changedServices.has(sp.serviceName);
    const endpoints = snapshot.endpointsOf(sp);
    const objects = (!write && cache?.get(sp, endpoints, configKey)) || servicePortObjects(sp, endpoints, config, names, write);
    cache?.put(sp, endpoints, configKey, objects);
    for (const e of objects.elements) putElement(desired, e.container, e.keyText, e.entry);
    for (const c of objects.chains) activeChains.add(c);
    for (const s of objects.affinitySets) activeAffinitySets.set(s.name, s.timeoutSeconds);
    if (objects.noLocalInternal) noLocalInternal++;
    if (objects.noLocalExternal) noLocalExternal++;
    if (!objects.content) continue;

    servicePortsWritten++;
    const isNew = (chain: string): boolean => chainsKnown && !applied.chains.has(chain);
    const setsUnchanged = objects.affinitySets.every((set) => {
      const known = applied.affinitySets.get(set.name);
      return known === undefined || known === set.timeoutSeconds;
    });
    // New, still unreferenced objects may be created ahead of the main transaction (Prelude);
    // the early transaction is taken only when there is something to put in it.
    const earlyAllowed = prelude !== undefined && setsUnchanged;
    let earlyTx: Transaction | undefined;
    const early = (): Transaction => (earlyTx ??= prelude!.next());
    const isEndpointChain = (chain: string): boolean => chain.startsWith(ENDPOINT_CHAIN_PREFIX);
    for (const chain of objects.content) {
      if (earlyAllowed && (isNew(chain.name) || isEndpointChain(chain.name))) {
        if (isNew(chain.name)) early().addChain(chain.name);
        else early().flushChain(chain.name);
        continue;
      }
      tx.addChain(chain.name);
      // A new chain is empty: flushing it would only make the transaction longer.
      if (!isNew(chain.name)) tx.flushChain(chain.name);
    }
    for (const set of objects.affinitySets) {
      const known = applied.affinitySets.get(set.name);
      // An existing set is left alone: nft marks a set "dynamic" when a rule updates it, 1.0.6
      // cannot say "dynamic" in JSON, so re-adding it would fail as a conflicting redefinition.
      if (known === set.timeoutSeconds) continue;
      // The kernel refuses to change a set's timeout in place; the chains that use the set were
      // flushed just above, so it can be deleted and recreated here.
      if (known !== undefined) tx.deleteSet(set.name);
      (earlyAllowed ? early() : tx).addSet(set.name, { type: addrType(config.family), flags: ['timeout'], timeout: set.timeoutSeconds });
    }
    for (const chain of objects.content) {
      chainsWritten++;
      // Endpoint chains are written early, together with the affinity sets their rules update.
      const target = earlyAllowed && isEndpointChain(chain.name) ? early() : tx;
      for (const rule of chain.rules) {
        target.addRule(chain.name, rule.expr, rule.comment);
        rulesWritten++;
      }
    }
  }

  cache?.commit();
  const elementDiff = writeElementDiff(tx, full ? new Map() : applied.elements, desired);

  // The chains in the kernel after this sync: the active ones plus the stale ones, in one set
  // (at 10k services it holds 110k names; a copy per sync is measurable).
  const activeChainCount = activeChains.size;
  const stale: string[] = [];
  for (const chain of applied.chains) if (!activeChains.has(chain)) stale.push(chain);
  const chains = activeChains;
  const staleChains = new Map<string, number>();
  let staleChainsFlushed = 0;
  for (const chain of stale) {
    chains.add(chain);
    const since = applied.staleChains.get(chain);
    // A full sync re-flushes every unused chain it found; a partial one only the newly unused.
    if (since === undefined || full) {
      tx.flushChain(chain);
      staleChainsFlushed++;
    }
    staleChains.set(chain, since ?? input.now);
  }

  let affinitySetsDeleted = 0;
  for (const set of applied.affinitySets.keys()) {
    if (activeAffinitySets.has(set)) continue;
    tx.deleteSet(set);
    affinitySetsDeleted++;
  }

  return {
    prelude: prelude?.documents() ?? [],
    document: tx.document(),
    next: {
      elements: elementDiff.next as ReadonlyMap<ElementContainer, ReadonlyMap<string, string>>,
      chains,
      affinitySets: activeAffinitySets,
      staleChains,
    },
    stats: {
      servicePorts: servicePorts.length,
      servicePortsWritten,
      chainsWritten,
      rulesWritten,
      activeChains: activeChainCount,
      elementsAdded: elementDiff.added,
      elementsDeleted: elementDiff.deleted,
      staleChainsFlushed,
      affinitySetsDeleted,
      noLocalEndpoints: { internal: noLocalInternal, external: noLocalExternal },
      skippedLoopbackNodePortIPs: layout.skippedLoopbackNodePortIPs,
    },
  };
}

/** Upstream's delay before a stale chain is deleted: a map element that pointed at it may still pin it briefly. */
export const STALE_CHAIN_DELETE_DELAY_MS = 1000;

/**
 * A separate transaction deleting the chains that have been stale (flushed, unreferenced) for at
 * least STALE_CHAIN_DELETE_DELAY_MS. Kernels before 6.2 notice only a moment after a map element
 * is deleted that its chain is unreferenced, so deleting in the same transaction fails.
 */
export function staleChainDeletion(
  config: Pick<NftablesRuleConfig, 'family'>,
  applied: AppliedState,
  now: number,
): { document: NftJsonDocument; deleted: readonly string[] } | undefined {
  const deleted: string[] = [];
  for (const [chain, since] of applied.staleChains) if (now - since >= STALE_CHAIN_DELETE_DELAY_MS) deleted.push(chain);
  if (deleted.length === 0) return undefined;
  const tx = new Transaction(ipKeyword(config.family), TABLE_NAME);
  for (const chain of deleted) tx.deleteChain(chain);
  return { document: tx.document(), deleted };
}

/** The applied state after a successful stale-chain deletion. */
export function withoutChains(applied: AppliedState, deleted: readonly string[]): AppliedState {
  const chains = new Set(applied.chains);
  const staleChains = new Map(applied.staleChains);
  for (const c of deleted) {
    chains.delete(c);
    staleChains.delete(c);
  }
  return { ...applied, chains, staleChains };
}

/** When the next stale chain becomes deletable (ms since the epoch), or undefined if none is stale. */
export function nextStaleDeadline(applied: AppliedState): number | undefined {
  let earliest: number | undefined;
  for (const since of applied.staleChains.values()) if (earliest === undefined || since < earliest) earliest = since;
  return earliest === undefined ? undefined : earliest + STALE_CHAIN_DELETE_DELAY_MS;
}

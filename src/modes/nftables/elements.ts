/**
 * Elements of the service sets and maps, and the diff between what the kernel holds and what a
 * sync wants (upstream's nftElementStorage): only additions, deletions and changed verdicts are
 * sent, so a one-endpoint change costs a few elements, not a rewrite of every map.
 */
import type { NftJsonExpr } from '../../kernel/nftables-json.js';
import { ELEMENT_CONTAINERS, type ElementContainer } from './layout.js';
import type { Transaction } from './transaction.js';
import type { Verdict } from './expressions.js';

export interface ElementEntry {
  /** The key as nft JSON: an address, or a concatenation. */
  readonly key: NftJsonExpr;
  /** Shown by `nft list`; upstream puts the service port name on "no endpoints" elements. */
  readonly comment?: string;
  /** Map data; absent for plain sets. */
  readonly verdict?: Verdict;
  /** Verdict and comment as text: a different signature for the same key means delete + add. */
  readonly signature: string;
}

/** Desired elements per container, by key text (`172.30.0.41 . tcp . 80`). */
export type ElementsByContainer = Map<ElementContainer, Map<string, ElementEntry>>;

/** What the kernel holds per container: key text → signature. */
export type ElementSignatures = ReadonlyMap<ElementContainer, ReadonlyMap<string, string>>;

export function emptyElements(): ElementsByContainer {
  return new Map(ELEMENT_CONTAINERS.map((c) => [c, new Map<string, ElementEntry>()]));
}

export function verdictText(v: Verdict): string {
  return 'goto' in v ? `goto ${v.goto.target}` : 'drop';
}

/**
 * Adds an element unless the key is taken: two services claiming one destination (the same
 * externalIP and port) cannot both own it, so the first in sorted order wins, deterministically.
 */
export function putElement(into: ElementsByContainer, container: ElementContainer, keyText: string, entry: ElementEntry): void {
  const byKey = into.get(container)!;
  if (!byKey.has(keyText)) byKey.set(keyText, entry);
}

function elementJSON(e: ElementEntry): NftJsonExpr {
  const key: NftJsonExpr = e.comment === undefined ? e.key : { elem: { val: e.key, comment: e.comment } };
  return e.verdict ? [key, e.verdict as NftJsonExpr] : key;
}

export interface ElementDiffStats {
  added: number;
  deleted: number;
}

/**
 * Writes the element changes from `current` to `desired` into the transaction: changed values are
 * deleted and re-added (an nft map cannot replace a value in place), new keys are added, and keys
 * no longer wanted are deleted. Deletions come last so that they may name elements whose chains
 * are flushed earlier in the same transaction.
 */
export function writeElementDiff(
  tx: Transaction,
  current: ElementSignatures,
  desired: ElementsByContainer,
): ElementDiffStats & { next: Map<ElementContainer, Map<string, string>> } {
  const stats = { added: 0, deleted: 0 };
  const next = new Map<ElementContainer, Map<string, string>>();
  const leftovers: Array<[ElementContainer, NftJsonExpr[]]> = [];
  for (const container of ELEMENT_CONTAINERS) {
    const have = current.get(container) ?? new Map<string, string>();
    const want = desired.get(container) ?? new Map<string, ElementEntry>();
    const replaced: NftJsonExpr[] = [];
    const added: NftJsonExpr[] = [];
    const signatures = new Map<string, string>();
    for (const [keyText, entry] of want) {
      signatures.set(keyText, entry.signature);
      const existing = have.get(keyText);
      if (existing === entry.signature) continue;
      if (existing !== undefined) replaced.push(entry.key);
      added.push(elementJSON(entry));
    }
    const gone: NftJsonExpr[] = [];
    for (const [keyText] of have) if (!want.has(keyText)) gone.push(keyFromText(keyText));
    tx.deleteElements(container, replaced);
    tx.addElements(container, added);
    leftovers.push([container, gone]);
    stats.added += added.length;
    stats.deleted += replaced.length + gone.length;
    next.set(container, signatures);
  }
  for (const [container, keys] of leftovers) tx.deleteElements(container, keys);
  return { ...stats, next };
}

/**
 * The JSON key back from its text: the kernel state is remembered as text only (it is what
 * diffing needs), and deleting needs nothing but the key. Ports are numbers in nft JSON.
 */
export function keyFromText(keyText: string): NftJsonExpr {
  const parts = keyText.split(' . ');
  if (parts.length === 1) return parts[0]!;
  return { concat: parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p)) };
}

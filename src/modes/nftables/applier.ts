/**
 * The only place where nftables mode has side effects: something that applies one nft JSON
 * transaction atomically and lists what our table holds. Two real appliers consume the same
 * document (the `nft` binary and the native netlink batch); --dry-run prints it instead.
 */
import type { NftJsonDocument } from '../../kernel/nftables-json.js';
import type { IPFamily } from '../../model/ip.js';

export type NftablesApplierName = 'nft' | 'netlink' | 'dry-run';

/** The per-service objects of our table, as the kernel lists them. */
export interface TableListing {
  readonly chains: readonly string[];
  /** Named sets (not maps), with their default timeout in seconds when they have one. */
  readonly sets: ReadonlyArray<{ readonly name: string; readonly timeout?: number }>;
}

export interface NftablesApplier {
  readonly name: NftablesApplierName;
  /** Applies the whole document or nothing; rejects with NftablesApplyError. */
  apply(doc: NftJsonDocument): Promise<void>;
  /** Chains and sets of `<family> kube-proxy`; undefined when the table does not exist. */
  listTable(family: IPFamily): Promise<TableListing | undefined>;
  /** Deletes `<family> kube-proxy`; resolves false when there was no such table. */
  deleteTable(family: IPFamily): Promise<boolean>;
}

/** A refused transaction: nothing of it was applied. `detail` says which command failed and why. */
export class NftablesApplyError extends Error {
  constructor(
    readonly applier: NftablesApplierName,
    readonly detail: string,
    readonly commands: number,
  ) {
    super(`${applier} applier: transaction of ${commands} commands refused: ${detail}`);
    this.name = 'NftablesApplyError';
  }
}

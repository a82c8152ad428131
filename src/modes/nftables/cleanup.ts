import type { KernelTarget } from '../../kernel/exec.js';
import { isNativeNetlinkAvailable } from '../../kernel/netlink.js';
import type { IPFamily } from '../../model/ip.js';
import type { NftablesApplier } from './applier.js';
import { netlinkApplier } from './applier-netlink.js';
import { nftCommandApplier } from './applier-nft.js';

function isMissingBinary(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Deletes nftables mode's tables, everything it made. A missing table is not an error: cleanup
 * runs on every start of another mode. Without an nft binary the native module does it.
 * Resolves with how many tables were deleted.
 */
export async function cleanupNftables(families: readonly IPFamily[], target: KernelTarget = {}, applier?: NftablesApplier): Promise<number> {
  let deleted = 0;
  for (const family of families) {
    let removed: boolean;
    try {
      removed = await (applier ?? nftCommandApplier(target)).deleteTable(family);
    } catch (err) {
      if (applier || !isMissingBinary(err)) throw err;
      // No nft binary: the native module can do it; without either nothing of ours can exist.
      if (!isNativeNetlinkAvailable()) continue;
      removed = await netlinkApplier(target.netns ? { netns: target.netns } : {}).deleteTable(family);
    }
    if (removed) deleted++;
  }
  return deleted;
}

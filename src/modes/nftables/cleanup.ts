import { run, type KernelTarget } from '../../kernel/exec.js';
import type { IPFamily } from '../../model/ip.js';

export const NFTABLES_TABLE = 'kube-proxy';

/** The nft family of the per-family table (`ip kube-proxy`, `ip6 kube-proxy`). */
export function nftFamily(family: IPFamily): 'ip' | 'ip6' {
  return family === 'IPv4' ? 'ip' : 'ip6';
}

/**
 * Deletes nftables mode's tables. A missing table (or a missing nft binary) is not an error:
 * cleanup runs on every start of another mode. Resolves with how many tables were deleted.
 */
export async function cleanupNftables(families: readonly IPFamily[], target: KernelTarget = {}): Promise<number> {
  let deleted = 0;
  for (const family of families) {
    const listed = await run(['nft', 'list', 'table', nftFamily(family), NFTABLES_TABLE], target).catch(() => undefined);
    if (!listed || listed.code !== 0) continue;
    const r = await run(['nft', 'delete', 'table', nftFamily(family), NFTABLES_TABLE], target);
    if (r.code !== 0) throw new Error(`nft delete table ${nftFamily(family)} ${NFTABLES_TABLE}: ${r.stderr.trim()}`);
    deleted++;
  }
  return deleted;
}

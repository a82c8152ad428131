/**
 * --dry-run: prints each transaction as nft text (the JSON that would be sent is the same
 * commands) and changes nothing. It reports an empty kernel, so the output is a first full sync.
 */
import type { NftJsonDocument } from '../../kernel/nftables-json.js';
import type { NftablesApplier } from './applier.js';
import { renderCommand } from './render.js';

export function dryRunApplier(write: (text: string) => void): NftablesApplier {
  return {
    name: 'dry-run',
    async apply(doc: NftJsonDocument): Promise<void> {
      if (doc.nftables.length === 0) return;
      const lines = doc.nftables.flatMap(renderCommand);
      write(`# nft -j -f - <<EOF (${doc.nftables.length} commands, shown as nft text)\n${lines.join('\n')}\n# EOF\n`);
    },
    listTable: async () => undefined,
    deleteTable: async () => false,
  };
}

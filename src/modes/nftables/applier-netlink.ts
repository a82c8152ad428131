/**
 * Applies transactions through the native module: the same nft JSON document is compiled to
 * nf_tables operations and sent as one NFNL batch (all or nothing), without an nft process.
 */
import {
  applyNftJson,
  listNftChains,
  listNftSets,
  listNftTables,
  NftCompileError,
  NftTransactionError,
  type NftKnownSet,
  type NetnsOptions,
} from '../../kernel/netlink.js';
import { NftSetFlags } from '../../kernel/nftables-ir.js';
import type { NftJsonDocument } from '../../kernel/nftables-json.js';
import type { IPFamily } from '../../model/ip.js';
import { NftablesApplyError, type NftablesApplier, type TableListing } from './applier.js';
import { addrType, ipKeyword } from './expressions.js';
import { ELEMENT_CONTAINERS, isMapContainer, NODEPORT_IPS_SET, NO_ENDPOINT_NODEPORTS_MAP, SERVICE_NODEPORTS_MAP, TABLE_NAME } from './layout.js';

/** NFT_MSG_DELTABLE of a missing table fails with ENOENT. */
const ENOENT = 2;

/**
 * The declarations of the sets and maps a partial sync adds elements to without defining them:
 * the compiler needs their key types, and knowing them here spares a kernel round trip per sync.
 */
export function knownSetsFor(family: IPFamily): NftKnownSet[] {
  const fam = ipKeyword(family);
  const addr = addrType(family);
  const sets: NftKnownSet[] = [{ family: fam, table: TABLE_NAME, name: NODEPORT_IPS_SET, type: addr }];
  for (const name of ELEMENT_CONTAINERS) {
    if (!isMapContainer(name)) {
      sets.push({ family: fam, table: TABLE_NAME, name, type: addr });
      continue;
    }
    const nodePorts = name === SERVICE_NODEPORTS_MAP || name === NO_ENDPOINT_NODEPORTS_MAP;
    sets.push({
      family: fam,
      table: TABLE_NAME,
      name,
      type: nodePorts ? ['inet_proto', 'inet_service'] : [addr, 'inet_proto', 'inet_service'],
      map: 'verdict',
    });
  }
  return sets;
}

function describe(err: unknown): string {
  if (err instanceof NftTransactionError || err instanceof NftCompileError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

export function netlinkApplier(options: NetnsOptions = {}): NftablesApplier {
  const known = { IPv4: knownSetsFor('IPv4'), IPv6: knownSetsFor('IPv6') };
  const familyOfDoc = (doc: NftJsonDocument): IPFamily => {
    for (const cmd of doc.nftables) {
      const o = cmd.add ?? cmd.flush ?? cmd.delete ?? cmd.create;
      const body = o && (Object.values(o)[0] as { family?: string } | undefined);
      if (body?.family === 'ip6') return 'IPv6';
      if (body?.family === 'ip') return 'IPv4';
    }
    return 'IPv4';
  };
  return {
    name: 'netlink',
    async apply(doc: NftJsonDocument): Promise<void> {
      if (doc.nftables.length === 0) return;
      try {
        await applyNftJson(doc, { ...options, knownSets: known[familyOfDoc(doc)], resolveSets: false });
      } catch (err) {
        throw new NftablesApplyError('netlink', describe(err), doc.nftables.length);
      }
    },
    async listTable(family: IPFamily): Promise<TableListing | undefined> {
      const filter = { ...options, family: ipKeyword(family), table: TABLE_NAME } as const;
      const tables = await listNftTables({ ...options, family: ipKeyword(family) });
      if (!tables.some((t) => t.name === TABLE_NAME)) return undefined;
      const [chains, sets] = await Promise.all([listNftChains(filter), listNftSets(filter)]);
      return {
        chains: chains.filter((c) => c.table === TABLE_NAME).map((c) => c.name),
        sets: sets
          .filter((s) => s.table === TABLE_NAME && (s.flags & NftSetFlags.map) === 0)
          .map((s) => ({ name: s.name, ...(s.timeoutMs !== undefined ? { timeout: Math.round(s.timeoutMs / 1000) } : {}) })),
      };
    },
    async deleteTable(family: IPFamily): Promise<boolean> {
      const doc: NftJsonDocument = { nftables: [{ delete: { table: { family: ipKeyword(family), name: TABLE_NAME } } }] };
      try {
        await applyNftJson(doc, { ...options, resolveSets: false });
        return true;
      } catch (err) {
        if (err instanceof NftTransactionError && err.errno === ENOENT) return false;
        throw err;
      }
    },
  };
}


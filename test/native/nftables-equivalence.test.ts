// The same nft JSON applied by `nft -j -f -` and by the native batch, into two fresh namespaces,
// must produce the same ruleset: identical `nft -j list ruleset` (handles removed, element order
// normalised) and identical kernel objects as the native lister reads them (expressions, set
// attributes and userdata, elements).
import t, { type Test } from 'tap';

import { kubeProxyLayout } from '../../bench/native-layout.js';
import {
  applyNftJson,
  familyName,
  listNftChains,
  listNftRules,
  listNftSetElements,
  listNftSets,
  listNftTables,
  type NftJsonDocument,
} from '../../src/kernel/netlink.js';
import { Udata, parseUdata, udataComment } from '../../src/kernel/nftables-udata.js';
import {
  constructsDocument,
  constructsUpdateDocument,
  createNetns,
  normalizedRuleset,
  runIn,
  stableJson,
} from '../support/native.js';

/**
 * nft 1.0.6's JSON parser ignores "comment" on tables, chains, sets and maps (rule and element
 * comments work); the native path applies them. Object comments are compared separately.
 */
function withoutObjectComment(udata: Uint8Array | undefined, commentType: number): number[] | undefined {
  if (!udata) return undefined;
  const kept: number[] = [];
  for (const [type, value] of parseUdata(udata)) {
    if (type !== commentType) kept.push(type, value.length, ...value);
  }
  return kept.length > 0 ? kept : undefined;
}

async function kernelState(netns: string): Promise<Record<string, string[]>> {
  const tables = (await listNftTables({ netns })).map((x) =>
    stableJson({ ...x, handle: 0, userdata: withoutObjectComment(x.userdata, Udata.tableComment) }),
  );
  const chains = (await listNftChains({ netns })).map((x) =>
    stableJson({ ...x, handle: 0, userdata: withoutObjectComment(x.userdata, Udata.chainComment) }),
  );
  const rules = (await listNftRules({ netns })).map((x) => stableJson({ ...x, handle: 0 }));
  const sets: string[] = [];
  const elements: string[] = [];
  for (const s of await listNftSets({ netns })) {
    sets.push(stableJson({ ...s, handle: 0, userdata: withoutObjectComment(s.userdata, Udata.set.comment) }));
    const listed = await listNftSetElements({ netns, family: familyName(s.family), table: s.table, set: s.name });
    // expiresMs counts down between the two listings; everything else must be equal.
    elements.push(`${s.name}:`, ...listed.map((e) => stableJson({ ...e, expiresMs: undefined })).sort());
  }
  return { tables, chains, sets, elements, rules };
}

async function applyBothWays(
  t: Test,
  label: string,
  docs: readonly NftJsonDocument[],
): Promise<{ viaNft: string; viaNative: string }> {
  const viaNft = createNetns(t, `${label}-nft`);
  const viaNative = createNetns(t, `${label}-native`);
  for (const doc of docs) {
    const r = runIn(viaNft, ['nft', '-j', '-f', '-'], JSON.stringify(doc));
    t.equal(r.status, 0, `nft -j -f - accepts the document: ${r.stderr}`);
    await applyNftJson(doc, { netns: viaNative });
  }
  return { viaNft, viaNative };
}

const cases: { name: string; label: string; docs: () => NftJsonDocument[] }[] = [
  {
    name: 'kube-proxy layout, IPv4, every service variant',
    label: 'eq4',
    docs: () => [kubeProxyLayout({ family: 'ip', services: 30, endpointsPerService: 3, variety: true })],
  },
  {
    name: 'kube-proxy layout, IPv6, every service variant',
    label: 'eq6',
    docs: () => [kubeProxyLayout({ family: 'ip6', services: 30, endpointsPerService: 3, variety: true })],
  },
  {
    name: 'other constructs (inet dependencies, prefixes, ranges, anonymous sets/maps, nat) and a follow-up update',
    label: 'eqc',
    docs: () => [constructsDocument() as unknown as NftJsonDocument, constructsUpdateDocument() as unknown as NftJsonDocument],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const { viaNft, viaNative } = await applyBothWays(t, c.label, c.docs());
    t.strictSame(
      normalizedRuleset(viaNative, { dropObjectComments: true }),
      normalizedRuleset(viaNft, { dropObjectComments: true }),
      'nft -j list ruleset is the same',
    );
    const [native, nft] = [await kernelState(viaNative), await kernelState(viaNft)];
    for (const kind of Object.keys(nft)) {
      t.strictSame(native[kind], nft[kind], `kernel ${kind} are byte for byte the same`);
    }
  });
}

t.test('table and set comments are applied by the native path', async (t) => {
  const netns = createNetns(t, 'comments');
  await applyNftJson(kubeProxyLayout({ family: 'ip', services: 1, endpointsPerService: 1 }), { netns });
  // nft 1.0.6 does not print table comments in JSON; read the table's userdata back instead.
  const [table] = await listNftTables({ netns, family: 'ip' });
  t.equal(udataComment(table?.userdata, Udata.tableComment), 'rules for kube-proxy');
  t.match(runIn(netns, ['nft', 'list', 'table', 'ip', 'kube-proxy']).stdout, 'comment "rules for kube-proxy"');
  const listing = runIn(netns, ['nft', '-j', 'list', 'ruleset']).stdout;
  t.match(listing, '"comment": "Active ClusterIPs"');
  t.match(listing, '"comment": "NodePort traffic"');
});

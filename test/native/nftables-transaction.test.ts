// nf_tables transactions against the real kernel: all-or-nothing, precise errors, large batches,
// incremental updates of existing sets, reading back.
import t from 'tap';

import { kubeProxyLayout } from '../../bench/native-layout.js';
import {
  NftCompileError,
  NftTransactionError,
  applyNftJson,
  decodeElements,
  listNftRules,
  listNftSetElements,
  listNftSets,
  prepareNftBatch,
  sendNftBatch,
  type NftJsonDocument,
} from '../../src/kernel/netlink.js';
import { createNetns, normalizedRuleset, runInChecked } from '../support/native.js';

const ip = (field: string) => ({ payload: { protocol: 'ip', field } });
const base = { family: 'ip' as const, table: 'kube-proxy' };

t.test('a failing batch changes nothing and names the failing command', async (t) => {
  const netns = createNetns(t, 'fail');
  await applyNftJson(kubeProxyLayout({ family: 'ip', services: 5, endpointsPerService: 2 }), { netns });
  const before = normalizedRuleset(netns);

  const doc: NftJsonDocument = {
    nftables: [
      { add: { chain: { ...base, name: 'new-chain' } } },
      { add: { element: { ...base, name: 'cluster-ips', elem: ['10.96.200.1'] } } },
      { flush: { chain: { ...base, name: 'services' } } },
      { add: { rule: { ...base, chain: 'new-chain', expr: [{ match: { op: '==', left: ip('saddr'), right: '@no-such-set' } }, { accept: null }] } } },
      { add: { rule: { ...base, chain: 'new-chain', expr: [{ accept: null }] } } },
    ],
  };
  const err = await applyNftJson(doc, { netns }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof NftTransactionError, 'rejects with NftTransactionError');
  const failure = err as NftTransactionError;
  t.equal(failure.code, 'ENOENT');
  t.equal(failure.failures.length, 1, 'exactly one operation failed');
  t.match(failure.failures[0], {
    commandIndex: 3,
    command: 'add rule ip kube-proxy new-chain',
    errno: 2,
    code: 'ENOENT',
    extackLocation: 'expression #1 (lookup)',
  });
  t.match(failure.message, /command #3 \(add rule ip kube-proxy new-chain\): ENOENT/);
  t.strictSame(normalizedRuleset(netns), before, 'ruleset unchanged, including the flushed chain');
});

t.test('several failures are all reported, first one in the message', async (t) => {
  const netns = createNetns(t, 'fail2');
  await applyNftJson({ nftables: [{ add: { table: { family: 'ip', name: 't' } } }] }, { netns });
  const err = (await applyNftJson(
    {
      nftables: [
        { create: { table: { family: 'ip', name: 't' } } },
        { add: { rule: { family: 'ip', table: 't', chain: 'missing', expr: [{ accept: null }] } } },
      ],
    },
    { netns },
  ).catch((e: unknown) => e)) as NftTransactionError;
  t.ok(err instanceof NftTransactionError);
  t.strictSame(
    err.failures.map((f) => [f.commandIndex, f.code]),
    [
      [0, 'EEXIST'],
      [1, 'ENOENT'],
    ],
  );
  t.match(err.message, /command #0 \(create table ip t\): EEXIST .*\(\+1 more\)/);
});

t.test('compile errors are thrown before anything is sent', async (t) => {
  const netns = createNetns(t, 'compile');
  await t.rejects(
    applyNftJson({ nftables: [{ add: { element: { ...base, name: 'nowhere', elem: ['1.2.3.4'] } } }] }, { netns }),
    NftCompileError,
  );
  await t.rejects(
    applyNftJson(
      {
        nftables: [
          { add: { table: { family: 'ip', name: 't' } } },
          { add: { set: { family: 'ip', table: 't', name: 's', type: 'ipv4_addr' } } },
          { add: { element: { family: 'ip', table: 't', name: 's', elem: ['1.2.3.999'] } } },
        ],
      },
      { netns },
    ),
    { name: 'NftCompileError', message: /command #2 .*invalid IPv4 address/ },
  );
  t.equal(runInChecked(netns, ['nft', 'list', 'ruleset']).trim(), '', 'nothing was created');
});

t.test('large element lists are split over several messages of one batch', async (t) => {
  const netns = createNetns(t, 'large');
  const count = 20000;
  const elem = Array.from({ length: count }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  const result = await applyNftJson(
    {
      nftables: [
        { add: { table: { family: 'ip', name: 't' } } },
        { add: { set: { family: 'ip', table: 't', name: 'many', type: 'ipv4_addr' } } },
        { add: { element: { family: 'ip', table: 't', name: 'many', elem } } },
      ],
    },
    { netns },
  );
  // 20000 elements of ~24 bytes do not fit one 64 KiB attribute.
  t.ok(result.messages > 6, `${result.messages} messages`);
  t.equal(result.sendmsgCalls, 1, 'one sendmsg for the whole transaction');
  const listed = await listNftSetElements({ netns, family: 'ip', table: 't', set: 'many' });
  t.equal(listed.length, count);
});

t.test('incremental updates to sets that exist in the kernel', async (t) => {
  const netns = createNetns(t, 'incr');
  await applyNftJson(kubeProxyLayout({ family: 'ip', services: 3, endpointsPerService: 1 }), { netns });
  const chains = (await listNftRules({ netns, family: 'ip', table: 'kube-proxy' })).map((r) => r.chain);
  const serviceChain = (svc: string) => chains.find((c) => /^service-[A-Z2-7]{8}-/.test(c) && c.includes(`/${svc}/`)) as string;
  const chain = serviceChain('svc0');
  await applyNftJson(
    {
      nftables: [
        { add: { element: { ...base, name: 'service-ips', elem: [[{ concat: ['10.96.9.9', 'udp', 53] }, { goto: { target: chain } }]] } } },
        { delete: { element: { ...base, name: 'service-ips', elem: [{ concat: ['10.96.0.1', 'tcp', 80] }] } } },
        { add: { element: { ...base, name: 'no-endpoint-services', elem: [[{ elem: { val: { concat: ['10.96.0.1', 'tcp', 80] }, comment: 'ns1/svc1:p80' } }, { goto: { target: 'reject-chain' } }]] } } },
      ],
    },
    { netns },
  );
  const sets = await listNftSets({ netns, family: 'ip', table: 'kube-proxy' });
  const decode = async (name: string) => {
    const set = sets.find((s) => s.name === name);
    t.ok(set, `set ${name} listed`);
    return decodeElements(set!, await listNftSetElements({ netns, family: 'ip', table: 'kube-proxy', set: name }));
  };
  const serviceIps = (await decode('service-ips'))?.map((e) => JSON.stringify([e.key, e.data])).sort();
  t.strictSame(serviceIps, [
    JSON.stringify([{ concat: ['10.96.0.0', 'tcp', 80] }, { goto: { target: chain } }]),
    JSON.stringify([{ concat: ['10.96.0.2', 'tcp', 80] }, { goto: { target: serviceChain('svc2') } }]),
    JSON.stringify([{ concat: ['10.96.9.9', 'udp', 53] }, { goto: { target: chain } }]),
  ]);
  t.strictSame(await decode('no-endpoint-services'), [
    { key: { concat: ['10.96.0.1', 'tcp', 80] }, data: { goto: { target: 'reject-chain' } }, comment: 'ns1/svc1:p80' },
  ]);
  t.match(runInChecked(netns, ['nft', 'list', 'map', 'ip', 'kube-proxy', 'no-endpoint-services']), 'comment "ns1/svc1:p80"');
});

t.test('delete a rule by handle, flush and delete chains and sets', async (t) => {
  const netns = createNetns(t, 'delete');
  const tb = { family: 'ip' as const, table: 't' };
  await applyNftJson(
    {
      nftables: [
        { add: { table: { family: 'ip', name: 't' } } },
        { add: { chain: { ...tb, name: 'c' } } },
        { add: { rule: { ...tb, chain: 'c', expr: [{ counter: null }] } } },
        { add: { rule: { ...tb, chain: 'c', expr: [{ accept: null }] } } },
        { add: { set: { ...tb, name: 's', type: 'inet_service', elem: [80, 443] } } },
      ],
    },
    { netns },
  );
  const [first, second] = await listNftRules({ netns, family: 'ip', table: 't', chain: 'c' });
  t.ok(first && second);
  await applyNftJson({ nftables: [{ delete: { rule: { ...tb, chain: 'c', handle: first!.handle } } }] }, { netns });
  t.strictSame(
    (await listNftRules({ netns, family: 'ip', table: 't' })).map((r) => r.handle),
    [second!.handle],
  );
  await applyNftJson(
    {
      nftables: [
        { flush: { set: { ...tb, name: 's' } } },
        { flush: { chain: { ...tb, name: 'c' } } },
        { delete: { chain: { ...tb, name: 'c' } } },
      ],
    },
    { netns },
  );
  t.equal((await listNftSetElements({ netns, family: 'ip', table: 't', set: 's' })).length, 0);
  await applyNftJson({ nftables: [{ delete: { set: { ...tb, name: 's' } } }, { flush: { table: { family: 'ip', name: 't' } } }] }, { netns });
  t.equal((await listNftSets({ netns })).length, 0);
  await applyNftJson({ nftables: [{ flush: { ruleset: null } }] }, { netns });
  t.equal(runInChecked(netns, ['nft', 'list', 'ruleset']).trim(), '');
});

t.test('a prepared batch can be sent to several namespaces, concurrently', async (t) => {
  const a = createNetns(t, 'prep-a');
  const b = createNetns(t, 'prep-b');
  const batch = prepareNftBatch(kubeProxyLayout({ family: 'ip', services: 20, endpointsPerService: 2 }));
  const [ra, rb] = await Promise.all([sendNftBatch(batch, { netns: a }), sendNftBatch(batch, { netns: b })]);
  t.equal(ra.messages, batch.messages);
  t.equal(rb.bytes, batch.bytes);
  t.strictSame(normalizedRuleset(a), normalizedRuleset(b));
});

t.test('namespace errors', async (t) => {
  await t.rejects(applyNftJson({ nftables: [] }, { netns: `kptn-${process.pid}-absent` }), { code: 'ENOENT' });
  await t.rejects(applyNftJson({ nftables: [] }, { netns: '../etc' }), { code: 'EINVAL' });
  await t.rejects(listNftSets({ netns: 'a/b' }), { code: 'EINVAL' });
});

t.test('invalid operations are rejected by the encoder with the operation index', async (t) => {
  t.throws(
    () => prepareNftBatch({ ops: [{ op: 'newtable', family: 2, name: 't' }, { op: 'bogus' } as never], opCommand: [0, 1], describeCommand: () => '' }),
    { name: 'TypeError', message: /operation #1: unknown operation 'bogus'/ },
  );
  t.throws(
    () =>
      prepareNftBatch({
        ops: [{ op: 'newrule', family: 2, table: 't', chain: 'c', exprs: [{ kind: 'cmp', sreg: 1, op: 0 } as never] }],
        opCommand: [0],
        describeCommand: () => '',
      }),
    { name: 'TypeError', message: /expression #0: cmp.data is required/ },
  );
});

import t from 'tap';
import { ChangeTracker } from '../../src/model/tracker.js';
import type { Checkout } from '../../src/model/snapshot.js';
import type { EndpointSliceEndpoint, Node, Service } from '../../src/model/k8s.js';
import { resolveNodePortAddresses } from '../../src/model/nodeport-addresses.js';
import { FakeNftables, fakeApplier } from '../../src/modes/nftables/fake.js';
import { NftablesProxier, FULL_SYNC_PERIOD_MS } from '../../src/modes/nftables/proxier.js';
import { buildSyncPlan, emptyAppliedState } from '../../src/modes/nftables/ruleset.js';
import { NftablesNames } from '../../src/modes/nftables/naming.js';
import type { NftablesRuleConfig } from '../../src/modes/nftables/service-rules.js';
import type { NftJsonDocument } from '../../src/kernel/nftables-json.js';
import { renderCommand } from '../../src/modes/nftables/render.js';
import { ProxyMetrics } from '../../src/server/metrics.js';
import { silentLogger } from '../../src/util/log.js';
import { service, slice, p80 } from '../support/unit/model-fixtures.js';

const NODE: Node = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'test-node' },
  status: { addresses: [{ type: 'InternalIP', address: '192.168.0.2' }] },
};

function ruleConfig(nodeIP = '192.168.0.2'): NftablesRuleConfig {
  return {
    family: 'IPv4',
    masqueradeMark: 0x4000,
    masqueradeAll: false,
    localDetector: { kind: 'cidr', cidr: '10.0.0.0/8' },
    nodePortAddresses: resolveNodePortAddresses(['primary'], 'IPv4', nodeIP, [nodeIP]),
    nodeIP,
    serviceCIDRs: ['172.30.0.0/16'],
    topology: { nodeName: 'test-node', zone: '' },
    preferSameNode: true,
  };
}

/** A tracker, a fake table and a proxier over it, with a clock the test moves. */
function world(opts: { config?: () => NftablesRuleConfig } = {}) {
  const tracker = new ChangeTracker({ nodeName: 'test-node' });
  tracker.setNode(NODE);
  const fake = new FakeNftables();
  const applier = fakeApplier(fake);
  const metrics = new ProxyMetrics();
  let now = 1_000_000;
  const proxier = new NftablesProxier({
    family: 'IPv4',
    applier,
    ruleConfig: opts.config ?? (() => ruleConfig()),
    log: silentLogger,
    metrics,
    now: () => now,
  });
  const sync = async (forceFullSync = false) => {
    const c: Checkout = tracker.checkout();
    const before = fake.applied.length;
    const report = await proxier.sync({
      snapshot: c.snapshot.families.IPv4,
      node: c.snapshot.node,
      changedServices: c.changedServices,
      forceFullSync,
    });
    return { report, docs: fake.applied.slice(before) };
  };
  return {
    tracker,
    fake,
    applier,
    metrics,
    proxier,
    sync,
    advance: (ms: number) => void (now += ms),
    dump: () => fake.dump('ip', 'kube-proxy'),
  };
}

/** The table a single full sync of the same objects produces: what every partial sync must converge to. */
async function freshDump(objects: { services: Service[]; slices: ReturnType<typeof slice>[] }): Promise<string> {
  const w = world();
  for (const s of objects.services) w.tracker.upsertService(s);
  for (const s of objects.slices) w.tracker.upsertEndpointSlice(s);
  await w.sync();
  return w.dump();
}

const text = (docs: NftJsonDocument[]): string[] => docs.flatMap((d) => d.nftables.flatMap(renderCommand));

const svcA = service('ns1', 'a', { clusterIP: '172.30.0.41', ports: p80 });
const svcB = service('ns2', 'b', { type: 'NodePort', clusterIP: '172.30.0.42', ports: [{ name: 'p80', port: 80, nodePort: 3001 }] });
const eps = (...ips: string[]): EndpointSliceEndpoint[] => ips.map((ip) => ({ addresses: [ip] }));

t.test('after the first full sync, an endpoint change sends only that service and its elements', async (t) => {
  const w = world();
  w.tracker.upsertService(svcA);
  w.tracker.upsertService(svcB);
  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1')));
  w.tracker.upsertEndpointSlice(slice('ns2', 'b', 'b-1', eps('10.180.1.1')));
  const first = await w.sync();
  t.ok(first.report.full, 'first sync is full');

  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1', '10.180.0.2')));
  const second = await w.sync();
  t.notOk(second.report.full, 'second sync is partial');
  const lines = text(second.docs);
  t.notOk(lines.some((l) => l.includes('ns2/b')), 'the unchanged service is not touched');
  t.notOk(lines.some((l) => l.startsWith('add table') || l.includes('filter-input')), 'the layout is not rewritten');
  t.ok(lines.includes('add chain ip kube-proxy endpoint-SYOJCMHC-ns1/a/tcp/p80__10.180.0.2/80') || lines.some((l) => l.includes('__10.180.0.2/80')), 'the new endpoint chain is added');
  t.ok(lines.some((l) => l.includes('numgen random mod 2')), 'the service chain balances over two endpoints');
  t.notOk(lines.some((l) => l.startsWith('add element')), 'no element changed: the ClusterIP still goes to the same chain');

  const expected = await freshDump({
    services: [svcA, svcB],
    slices: [slice('ns1', 'a', 'a-1', eps('10.180.0.1', '10.180.0.2')), slice('ns2', 'b', 'b-1', eps('10.180.1.1'))],
  });
  t.equal(w.dump(), expected, 'the table equals what one full sync of the same objects gives');
});

t.test('a removed endpoint chain is flushed at once and deleted a second later', async (t) => {
  const w = world();
  w.tracker.upsertService(svcA);
  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1', '10.180.0.2')));
  await w.sync();
  const gone = w.fake.chainNames('ip', 'kube-proxy').find((c) => c.endsWith('__10.180.0.2/80'))!;

  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1')));
  const partial = await w.sync();
  t.ok(text(partial.docs).includes(`flush chain ip kube-proxy ${gone}`), 'flushed in the sync that stopped using it');
  t.same(w.fake.rules('ip', 'kube-proxy', gone), [], 'empty');
  t.ok(w.fake.chainNames('ip', 'kube-proxy').includes(gone), 'but not deleted yet');
  t.equal(partial.report.stats.staleChainsFlushed, 1);

  w.advance(500);
  const early = await w.sync();
  t.equal(early.report.staleChainsDeleted, 0, 'not deleted before a second has passed');
  t.notOk(text(early.docs).some((l) => l.startsWith('flush chain')), 'and not flushed again');

  w.advance(600);
  const later = await w.sync();
  t.equal(later.report.staleChainsDeleted, 1);
  t.same(text([later.docs[0]!]), [`delete chain ip kube-proxy ${gone}`], 'deleted in a transaction of its own');
  t.notOk(w.fake.chainNames('ip', 'kube-proxy').includes(gone));
  t.equal(w.dump(), await freshDump({ services: [svcA], slices: [slice('ns1', 'a', 'a-1', eps('10.180.0.1'))] }));
});

t.test('deleting a service removes its elements, chains and affinity sets', async (t) => {
  const sticky = service('ns1', 'a', { clusterIP: '172.30.0.41', ports: p80, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } });
  const w = world();
  w.tracker.upsertService(sticky);
  w.tracker.upsertService(svcB);
  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1')));
  w.tracker.upsertEndpointSlice(slice('ns2', 'b', 'b-1', eps('10.180.1.1')));
  await w.sync();
  t.ok(w.fake.setNames('ip', 'kube-proxy').some((s) => s.startsWith('affinity-')), 'affinity set created');

  w.tracker.deleteService('ns1/a');
  w.tracker.deleteEndpointSlice('ns1/a-1');
  const r = await w.sync();
  t.notOk(r.report.full);
  t.equal(r.report.stats.affinitySetsDeleted, 1);
  t.notOk(w.fake.setNames('ip', 'kube-proxy').some((s) => s.startsWith('affinity-')), 'affinity set deleted at once');
  t.notOk(w.fake.elements('ip', 'kube-proxy', 'cluster-ips').includes('172.30.0.41'), 'ClusterIP gone from cluster-ips');
  t.notOk(w.fake.elements('ip', 'kube-proxy', 'service-ips').some((e) => e.startsWith('172.30.0.41 ')), 'and from service-ips');
  w.advance(1000);
  await w.sync();
  t.equal(w.dump(), await freshDump({ services: [svcB], slices: [slice('ns2', 'b', 'b-1', eps('10.180.1.1'))] }));
});

t.test('a changed affinity timeout recreates the set (the kernel refuses to change it in place)', async (t) => {
  const withTimeout = (s: number) =>
    service('ns1', 'a', { clusterIP: '172.30.0.41', ports: p80, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: s } } });
  const w = world();
  w.tracker.upsertService(withTimeout(60));
  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1')));
  await w.sync();
  w.tracker.upsertService(withTimeout(120));
  const r = await w.sync();
  const lines = text(r.docs);
  const del = lines.findIndex((l) => l.startsWith('delete set ip kube-proxy affinity-'));
  const add = lines.findIndex((l) => l.startsWith('add set ip kube-proxy affinity-'));
  t.ok(del >= 0 && add > del, 'deleted, then added with the new timeout');
  const flush = lines.findIndex((l) => l.startsWith('flush chain ip kube-proxy endpoint-'));
  t.ok(flush >= 0 && flush < del, 'after the endpoint chain that uses it was flushed');
  t.equal(w.fake.setTimeout('ip', 'kube-proxy', w.fake.setNames('ip', 'kube-proxy').find((s) => s.startsWith('affinity-'))!), 120);
});

t.test('a failed transaction changes nothing and makes the next sync full', async (t) => {
  const w = world();
  w.tracker.upsertService(svcA);
  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1')));
  await w.sync();
  const before = w.dump();
  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.9')));
  w.applier.failNext = 1;
  await t.rejects(w.sync(), /injected failure/);
  t.equal(w.dump(), before, 'the table is as it was');
  t.equal((await w.metrics.nftablesSyncFailuresTotal.get()).values[0]?.value, 1, 'failure counted');
  const retry = await w.sync();
  t.ok(retry.report.full, 'the retry is a full sync');
  t.equal(w.dump().includes('10.180.0.9'), true, 'and it carries the change the failed sync lost');
  w.advance(1000);
  await w.sync();
  t.equal(w.dump(), await freshDump({ services: [svcA], slices: [slice('ns1', 'a', 'a-1', eps('10.180.0.9'))] }));
});

t.test('full syncs: forced, hourly, and when the layout configuration changes', async (t) => {
  let nodeIP = '192.168.0.2';
  const w = world({ config: () => ruleConfig(nodeIP) });
  w.tracker.upsertService(svcB);
  await w.sync();
  t.notOk((await w.sync()).report.full, 'nothing changed: partial');
  const forced = await w.sync(true);
  t.ok(forced.report.full, 'topology change forces a full sync');
  t.equal(forced.docs.length, 1, 'no endpoint chain to rewrite, nothing new to create: no early transaction');
  w.advance(FULL_SYNC_PERIOD_MS);
  t.ok((await w.sync()).report.full, 'an hour later: full');
  nodeIP = '192.168.0.3';
  const moved = await w.sync();
  t.ok(moved.report.full, 'a new node IP changes nodeport-ips: full');
  t.same(w.fake.elements('ip', 'kube-proxy', 'nodeport-ips'), ['192.168.0.3']);
});

t.test('the first sync cleans up what a previous run left behind', async (t) => {
  const w = world();
  const leftovers = world();
  // A previous run programmed two services, one of them sticky; this run only knows one.
  const sticky = service('ns9', 'old', { clusterIP: '172.30.0.99', ports: p80, sessionAffinity: 'ClientIP' });
  leftovers.tracker.upsertService(sticky);
  leftovers.tracker.upsertService(svcA);
  leftovers.tracker.upsertEndpointSlice(slice('ns9', 'old', 'old-1', eps('10.180.9.1')));
  leftovers.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1')));
  await leftovers.sync();
  for (const doc of leftovers.fake.applied) w.fake.apply(doc);

  w.tracker.upsertService(svcA);
  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1')));
  const first = await w.sync();
  t.ok(first.report.full);
  t.equal(first.report.stats.staleChainsFlushed, 2, "the old service's chains are flushed");
  t.equal(first.report.stats.affinitySetsDeleted, 1, 'its affinity set deleted');
  t.notOk(w.fake.elements('ip', 'kube-proxy', 'cluster-ips').includes('172.30.0.99'), 'its elements are gone (maps refilled)');
  w.advance(1000);
  await w.sync();
  t.equal(w.dump(), await freshDump({ services: [svcA], slices: [slice('ns1', 'a', 'a-1', eps('10.180.0.1'))] }));
});

t.test('a chain that comes back into use before its deletion is kept', async (t) => {
  const w = world();
  w.tracker.upsertService(svcA);
  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1', '10.180.0.2')));
  await w.sync();
  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1')));
  await w.sync();
  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1', '10.180.0.2')));
  await w.sync();
  w.advance(2000);
  const r = await w.sync();
  t.equal(r.report.staleChainsDeleted, 0, 'nothing to delete');
  t.equal(w.dump(), await freshDump({ services: [svcA], slices: [slice('ns1', 'a', 'a-1', eps('10.180.0.1', '10.180.0.2'))] }));
});

t.test('no endpoints, no local endpoints and traffic policies give upstream verdicts', async (t) => {
  const w = world();
  const itpLocal = service('ns3', 'itp', { clusterIP: '172.30.0.43', ports: p80, internalTrafficPolicy: 'Local' });
  const etpLocal = service('ns4', 'etp', {
    type: 'LoadBalancer',
    externalTrafficPolicy: 'Local',
    clusterIP: '172.30.0.44',
    ports: [{ name: 'p80', port: 80, nodePort: 3004 }],
    healthCheckNodePort: 30004,
  }, { status: { loadBalancer: { ingress: [{ ip: '5.6.7.9' }] } } });
  w.tracker.upsertService(svcA);
  w.tracker.upsertService(itpLocal);
  w.tracker.upsertService(etpLocal);
  w.tracker.upsertEndpointSlice(slice('ns3', 'itp', 'itp-1', [{ addresses: ['10.180.3.1'], nodeName: 'other' }]));
  w.tracker.upsertEndpointSlice(slice('ns4', 'etp', 'etp-1', [{ addresses: ['10.180.4.1'], nodeName: 'test-node' }]));
  const r = await w.sync();
  const noEndpoints = w.fake.elements('ip', 'kube-proxy', 'no-endpoint-services');
  t.ok(noEndpoints.includes('172.30.0.41 . tcp . 80 comment "ns1/a:p80" : goto reject-chain'), 'no endpoints: reject');
  t.ok(noEndpoints.includes('172.30.0.43 . tcp . 80 comment "ns3/itp:p80" : drop'), 'ITP=Local without local endpoints: drop');
  t.same(r.report.noLocalEndpoints, { internal: 1, external: 0 });
  t.ok(w.fake.elements('ip', 'kube-proxy', 'service-ips').includes('5.6.7.9 . tcp . 80 : goto external-' + w.fake.chainNames('ip', 'kube-proxy').find((c) => c.startsWith('external-'))!.slice('external-'.length)));
  const local = w.fake.chainNames('ip', 'kube-proxy').find((c) => c.startsWith('local-'))!;
  t.ok(local, 'ETP=Local with a local endpoint has a local- chain');
  const ext = w.fake.rules('ip', 'kube-proxy', w.fake.chainNames('ip', 'kube-proxy').find((c) => c.startsWith('external-'))!);
  t.match(ext.at(-1)!, new RegExp(`goto ${local.replaceAll('/', '\\/')}$`), 'external traffic goes to the local endpoints');
});

t.test('random changes: every partial sync converges to what a full sync gives', async (t) => {
  // A small deterministic pseudo-random walk over services, endpoints and their properties.
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const w = world();
  const services = new Map<string, Service>();
  const slices = new Map<string, ReturnType<typeof slice>>();
  const makeService = (i: number): Service => {
    const type = ['ClusterIP', 'NodePort', 'LoadBalancer'][rand(3)]!;
    const spec: Service['spec'] = {
      type,
      clusterIP: `172.30.1.${i}`,
      ports: [{ name: 'p80', port: 80, ...(type !== 'ClusterIP' ? { nodePort: 30000 + i } : {}) }, { name: 'dns', port: 53, protocol: 'UDP' }],
      ...(rand(3) === 0 ? { externalIPs: [`192.168.99.${i}`] } : {}),
      ...(rand(3) === 0 ? { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 + rand(3) } } } : {}),
      ...(type !== 'ClusterIP' && rand(2) === 0 ? { externalTrafficPolicy: 'Local' } : {}),
      ...(rand(4) === 0 ? { internalTrafficPolicy: 'Local' } : {}),
      ...(type === 'LoadBalancer' && rand(2) === 0 ? { loadBalancerSourceRanges: ['203.0.113.0/25'] } : {}),
    };
    return service('ns', `s${i}`, spec, type === 'LoadBalancer' ? { status: { loadBalancer: { ingress: [{ ip: `5.6.7.${i}` }] } } } : {});
  };
  const makeSlice = (i: number) => {
    const n = rand(4);
    const endpoints: EndpointSliceEndpoint[] = [];
    for (let k = 0; k < n; k++) {
      endpoints.push({
        addresses: [`10.180.${i}.${1 + rand(4)}`],
        ...(rand(2) === 0 ? { nodeName: 'test-node' } : {}),
        ...(rand(5) === 0 ? { conditions: { ready: false, serving: true, terminating: true } } : {}),
      });
    }
    return slice('ns', `s${i}`, `s${i}-1`, endpoints, [
      { name: 'p80', port: 8080, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ]);
  };
  for (let step = 0; step < 60; step++) {
    const i = 1 + rand(8);
    const what = rand(4);
    if (what === 0 && services.has(`s${i}`)) {
      services.delete(`s${i}`);
      w.tracker.deleteService(`ns/s${i}`);
    } else if (what <= 1) {
      const s = makeService(i);
      services.set(`s${i}`, s);
      w.tracker.upsertService(s);
    } else {
      const s = makeSlice(i);
      slices.set(`s${i}`, s);
      w.tracker.upsertEndpointSlice(s);
    }
    // Every seventh sync is a full one over the existing table (early transactions included).
    await w.sync(step % 7 === 6);
    if (step % 5 === 4) {
      w.advance(1000);
      await w.sync();
      const expected = await freshDump({ services: [...services.values()], slices: [...slices.values()] });
      if (w.dump() !== expected) {
        t.equal(w.dump(), expected, `step ${step}`);
        return;
      }
    }
  }
  t.pass('60 random changes, checked every 5');
});

t.test('when the kernel cannot be listed, a full sync flushes every chain it writes', async (t) => {
  const previous = world();
  previous.tracker.upsertService(svcA);
  previous.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1')));
  await previous.sync();
  const w = world();
  for (const doc of previous.fake.applied) w.fake.apply(doc);
  w.applier.listTable = async () => {
    throw new Error('listing refused');
  };
  w.tracker.upsertService(svcA);
  w.tracker.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1')));
  const r = await w.sync();
  t.ok(text(r.docs).some((l) => l.startsWith('flush chain ip kube-proxy endpoint-')), 'chains of unknown state are flushed before rules are added');
  t.equal(w.dump(), previous.dump(), 'no rule is doubled');
});

t.test('partial syncs reuse the objects of unchanged services', async (t) => {
  const w = world();
  for (let i = 0; i < 20; i++) {
    w.tracker.upsertService(service('ns', `s${i}`, { clusterIP: `172.30.2.${i}`, ports: p80 }));
    w.tracker.upsertEndpointSlice(slice('ns', `s${i}`, `s${i}-1`, eps(`10.180.2.${i}`)));
  }
  await w.sync();
  w.tracker.upsertEndpointSlice(slice('ns', 's3', 's3-1', eps('10.180.3.3')));
  const r = await w.sync();
  t.equal(r.report.stats.servicePortsWritten, 1, 'one service written');
  t.equal(r.report.stats.elementsAdded + r.report.stats.elementsDeleted, 0, 'its ClusterIP element is unchanged');
  t.equal(r.report.stats.staleChainsFlushed, 1, 'the replaced endpoint chain is flushed');
});

t.test('a cold start creates new chains ahead of the main transaction, with the same result', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'test-node' });
  tr.setNode(NODE);
  const sticky = service('ns1', 'a', { clusterIP: '172.30.0.41', ports: p80, sessionAffinity: 'ClientIP' });
  tr.upsertService(sticky);
  tr.upsertService(svcB);
  tr.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1', '10.180.0.2')));
  tr.upsertEndpointSlice(slice('ns2', 'b', 'b-1', eps('10.180.1.1')));
  const c = tr.checkout();
  const input = {
    snapshot: c.snapshot.families.IPv4,
    config: ruleConfig(),
    applied: emptyAppliedState(),
    full: true,
    firstSync: true,
    changedServices: new Set<string>(),
    now: 0,
  };
  const whole = buildSyncPlan({ ...input, names: new NftablesNames() });
  const split = buildSyncPlan({ ...input, names: new NftablesNames(), coldStartChunk: 5 });
  t.equal(whole.prelude.length, 0, 'without a chunk size: one transaction');
  t.ok(split.prelude.length >= 2, `early transactions of about 5 commands (${split.prelude.length})`);
  const early = text([...split.prelude]);
  t.ok(early.every((l) => l.startsWith('add ')), 'early transactions only add');
  t.notOk(early.some((l) => l.startsWith('add element') || / (service|external|local|firewall)-\S+ /.test(l) && l.startsWith('add rule')), 'no elements, no rules outside endpoint chains');
  const a = new FakeNftables();
  a.apply(whole.document);
  const b = new FakeNftables();
  for (const doc of [...split.prelude, split.document]) b.apply(doc);
  t.equal(b.dump('ip', 'kube-proxy'), a.dump('ip', 'kube-proxy'), 'the same table');

  // A full resync over that table rewrites the endpoint chains early, the rest atomically.
  const again = buildSyncPlan({ ...input, names: new NftablesNames(), firstSync: false, applied: { ...emptyAppliedState(), chains: new Set(b.chainNames('ip', 'kube-proxy').filter((c) => c.includes('/'))), affinitySets: new Map(b.setNames('ip', 'kube-proxy').filter((n) => n.startsWith('affinity-')).map((n) => [n, 10800])) }, coldStartChunk: 5 });
  const earlyAgain = text([...again.prelude]);
  t.ok(earlyAgain.some((l) => l.startsWith('flush chain ip kube-proxy endpoint-')), 'existing endpoint chains are flushed and rewritten early');
  t.notOk(earlyAgain.some((l) => / (service|external)-/.test(l)), 'service-level chains stay in the main transaction');
  for (const doc of [...again.prelude, again.document]) b.apply(doc);
  t.equal(b.dump('ip', 'kube-proxy'), a.dump('ip', 'kube-proxy'), 'still the same table');
});

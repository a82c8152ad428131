/**
 * nftables mode against the real kernel, in network namespaces this file creates (never the
 * machine's own): both appliers must leave byte-identical tables (`nft -j list table`), the JSON
 * must mean what the golden nft text means (nft 1.0.6 silently ignores JSON it does not know, so
 * only a read-back proves it), and a refused transaction must change nothing.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadScenario, scenarioNames } from '../golden/harness.js';
import { nftablesConfigFor } from '../golden/configs.js';
import { isNativeNetlinkAvailable } from '../../src/kernel/netlink.js';
import type { NftJsonDocument } from '../../src/kernel/nftables-json.js';
import type { IPFamily } from '../../src/model/ip.js';
import { ChangeTracker } from '../../src/model/tracker.js';
import type { EndpointSliceEndpoint, Service } from '../../src/model/k8s.js';
import { nftCommandApplier, runNft } from '../../src/modes/nftables/applier-nft.js';
import { netlinkApplier } from '../../src/modes/nftables/applier-netlink.js';
import type { NftablesApplier } from '../../src/modes/nftables/applier.js';
import { cleanupNftables } from '../../src/modes/nftables/cleanup.js';
import { NftablesNames } from '../../src/modes/nftables/naming.js';
import { NftablesProxier } from '../../src/modes/nftables/proxier.js';
import { buildSyncPlan, emptyAppliedState } from '../../src/modes/nftables/ruleset.js';
import { silentLogger } from '../../src/util/log.js';
import { service, slice, p80 } from '../support/unit/model-fixtures.js';
import { createNetns } from '../support/native.js';

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root for network namespaces');
  process.exit(0);
}

/** A fresh namespace, removed when the test ends (and at exit). */
const netns = createNetns;

const fam = (f: IPFamily): 'ip' | 'ip6' => (f === 'IPv4' ? 'ip' : 'ip6');

/**
 * `nft -j list table` without handles, objects and elements sorted: handles and hash order
 * differ. `dropSetComments` is for comparing with upstream's text, which comments its sets.
 */
async function listing(ns: string, family: IPFamily, dropSetComments = false): Promise<string[]> {
  const r = await runNft(['-j', 'list', 'table', fam(family), 'kube-proxy'], { netns: ns });
  if (r.code !== 0) return [`<no table: ${r.stderr.trim()}>`];
  const objects = (JSON.parse(r.stdout) as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
  return objects
    .filter((o) => !('metainfo' in o))
    .map((o) => {
      const [kind, value] = Object.entries(o)[0]!;
      const copy = { ...value };
      delete copy.handle;
      if (dropSetComments && (kind === 'set' || kind === 'map')) delete copy.comment;
      if (Array.isArray(copy.elem)) copy.elem = copy.elem.map((e) => JSON.stringify(e)).sort();
      return JSON.stringify({ [kind]: copy });
    })
    .sort();
}

const withNetlink = isNativeNetlinkAvailable();
const kinds: ReadonlyArray<'nft' | 'netlink'> = withNetlink ? ['nft', 'netlink'] : ['nft'];
const applierFor = (kind: 'nft' | 'netlink', ns: string): NftablesApplier =>
  kind === 'nft' ? nftCommandApplier({ netns: ns }) : netlinkApplier({ netns: ns });

function firstSyncDocument(scenario: string, family: IPFamily): NftJsonDocument {
  const s = loadScenario(scenario);
  return buildSyncPlan({
    snapshot: s.checkout.snapshot.families[family],
    config: nftablesConfigFor(s, family),
    names: new NftablesNames(),
    applied: emptyAppliedState(),
    full: true,
    firstSync: true,
    changedServices: new Set(),
    now: 0,
  }).document;
}

t.test('golden scenarios: both appliers and the golden nft text give the same table', async (t) => {
  if (!withNetlink) t.comment('native module unavailable: only the nft applier is checked');
  for (const name of scenarioNames()) {
    const s = loadScenario(name);
    for (const family of s.config.families ?? (['IPv4'] as IPFamily[])) {
      const doc = firstSyncDocument(name, family);
      const suffix = family === 'IPv4' ? '' : '.ip6';
      const results = new Map<string, string[]>();
      const namespaces = new Map<string, string>();
      for (const kind of kinds) {
        const ns = netns(t, `${kind}-${name.slice(0, 12)}-${fam(family)}`);
        await applierFor(kind, ns).apply(doc);
        results.set(kind, await listing(ns, family));
        namespaces.set(kind, ns);
      }
      const text = netns(t, `text-${name.slice(0, 12)}-${fam(family)}`);
      execFileSync('ip', ['netns', 'exec', text, 'nft', '-f', join(s.dir, `nftables${suffix}.nft`)]);
      const fromText = await listing(text, family);
      const viaNft = results.get('nft')!;
      t.ok(viaNft.length > 20, `${name} ${family}: a table was programmed`);
      t.same(viaNft, fromText, `${name} ${family}: the JSON lists exactly like nftables${suffix}.nft applied with nft -f`);
      if (withNetlink) t.same(results.get('netlink'), viaNft, `${name} ${family}: netlink and nft appliers leave identical tables`);
      if (name === 'upstream-nftables-overall' && family === 'IPv4') {
        // Upstream's test text declares chains after rules that use them (its fake does not
        // mind); the kernel needs definitions first.
        const lines = readFileSync(join(s.dir, 'upstream-nftables-expected.nft'), 'utf8').split('\n').filter((l) => l.startsWith('add '));
        const rank = (l: string): number => (/^add (table|chain|set|map) /.test(l) ? 0 : l.startsWith('add rule') ? 1 : 2);
        const ordered = [...lines].sort((a, b) => rank(a) - rank(b)).join('\n') + '\n';
        const upstream = netns(t, 'upstream');
        const file = join(mkdtempSync(join(tmpdir(), 'kptnft-')), 'upstream.nft');
        t.teardown(() => rmSync(dirname(file), { recursive: true, force: true }));
        writeFileSync(file, ordered);
        execFileSync('ip', ['netns', 'exec', upstream, 'nft', '-f', file]);
        t.same(await listing(namespaces.get('nft')!, family, true), await listing(upstream, family, true), "the kernel holds what upstream's expected rule set gives (set comments aside)");
      }
    }
  }
});

t.test('a refused transaction changes nothing, with either applier', async (t) => {
  const doc = firstSyncDocument('upstream-nftables-overall', 'IPv4');
  for (const kind of kinds) {
    const ns = netns(t, `fail-${kind}`);
    const applier = applierFor(kind, ns);
    await applier.apply(doc);
    const before = await listing(ns, 'IPv4');
    // Valid changes first, then a delete of an element that does not exist: all must be undone.
    const bad: NftJsonDocument = {
      nftables: [
        { add: { chain: { family: 'ip', table: 'kube-proxy', name: 'service-XXXXXXXX-ns9/new/tcp/p' } } },
        { add: { element: { family: 'ip', table: 'kube-proxy', name: 'cluster-ips', elem: ['172.30.9.9'] } } },
        { flush: { chain: { family: 'ip', table: 'kube-proxy', name: 'services' } } },
        { delete: { element: { family: 'ip', table: 'kube-proxy', name: 'service-ips', elem: [{ concat: ['172.30.9.9', 'tcp', 80] }] } } },
      ],
    };
    await t.rejects(applier.apply(bad), { name: 'NftablesApplyError', applier: kind }, `${kind}: refused`);
    t.same(await listing(ns, 'IPv4'), before, `${kind}: the table is exactly as before`);
  }
});

t.test('a restarted proxy takes over an existing table: base chains recreated, the same table', async (t) => {
  const s = loadScenario('upstream-nftables-overall');
  for (const kind of kinds) {
    const ns = netns(t, `restart-${kind}`);
    const a = applierFor(kind, ns);
    const once: string[][] = [];
    for (let run = 0; run < 2; run++) {
      // A new proxier each time, as after a restart: its first sync lists the kernel's chains.
      const proxier = new NftablesProxier({ family: 'IPv4', applier: a, ruleConfig: () => nftablesConfigFor(s, 'IPv4'), log: silentLogger });
      const r = await proxier.sync({ snapshot: s.checkout.snapshot.families.IPv4, node: s.checkout.snapshot.node, changedServices: new Set(), forceFullSync: false });
      t.ok(r.full, `${kind} run ${run}: first sync is full`);
      once.push(await listing(ns, 'IPv4'));
    }
    t.same(once[1], once[0], `${kind}: the second proxy leaves exactly the table the first one made`);
    const listed = await a.listTable('IPv4');
    t.ok(listed?.chains.includes('services') && listed.chains.some((c) => c.startsWith('endpoint-')), `${kind}: listTable sees our chains`);
    t.ok(listed?.sets.some((set) => set.name.startsWith('affinity-') && set.timeout === 10800), `${kind}: and the affinity set with its timeout`);
    t.equal(await a.listTable('IPv6'), undefined, `${kind}: no ip6 table`);
  }
});

t.test('a cold start split into early transactions gives the same table, with either applier', async (t) => {
  const s = loadScenario('dual-stack-policies');
  for (const kind of kinds) {
    for (const family of ['IPv4', 'IPv6'] as const) {
      const whole = netns(t, `cold1-${kind}-${fam(family)}`);
      await applierFor(kind, whole).apply(firstSyncDocument('dual-stack-policies', family));
      const split = netns(t, `cold2-${kind}-${fam(family)}`);
      const proxier = new NftablesProxier({
        family,
        applier: applierFor(kind, split),
        ruleConfig: () => nftablesConfigFor(s, family),
        log: silentLogger,
        coldStartChunk: 8,
      });
      const r = await proxier.sync({ snapshot: s.checkout.snapshot.families[family], node: s.checkout.snapshot.node, changedServices: new Set(), forceFullSync: false });
      t.ok(r.full);
      t.same(await listing(split, family), await listing(whole, family), `${kind} ${family}: same table as one transaction`);
    }
  }
});

t.test('incremental syncs through each applier converge to a fresh full sync, and cleanup removes it all', async (t) => {
  const sticky = (timeout: number): Service =>
    service('ns1', 'a', {
      type: 'LoadBalancer',
      clusterIP: '172.30.0.41',
      ports: [{ name: 'p80', port: 80, nodePort: 30041 }],
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: timeout } },
      loadBalancerSourceRanges: ['203.0.113.0/25'],
    }, { status: { loadBalancer: { ingress: [{ ip: '5.6.7.8' }] } } });
  const plain = service('ns2', 'b', { clusterIP: '172.30.0.42', ports: p80 });
  const eps = (...ips: string[]): EndpointSliceEndpoint[] => ips.map((ip) => ({ addresses: [ip] }));
  const steps: Array<(tr: ChangeTracker) => void> = [
    (tr) => {
      tr.upsertService(sticky(60));
      tr.upsertService(plain);
      tr.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1', '10.180.0.2')));
      tr.upsertEndpointSlice(slice('ns2', 'b', 'b-1', eps('10.180.1.1')));
    },
    (tr) => tr.upsertEndpointSlice(slice('ns1', 'a', 'a-1', eps('10.180.0.1', '10.180.0.3'))),
    (tr) => tr.upsertService(sticky(120)),
    (tr) => tr.deleteEndpointSlice('ns2/b-1'),
    (tr) => tr.deleteService('ns1/a'),
    () => {},
  ];
  const runs = new Map<string, { ns: string; tracker: ChangeTracker; proxier: NftablesProxier }>();
  let now = 1_000_000;
  for (const kind of kinds) {
    const ns = netns(t, `incr-${kind}`);
    const tracker = new ChangeTracker({ nodeName: 'test-node' });
    const s = loadScenario('overall');
    const proxier = new NftablesProxier({
      family: 'IPv4',
      applier: applierFor(kind, ns),
      ruleConfig: () => nftablesConfigFor(s, 'IPv4'),
      log: silentLogger,
      now: () => now,
    });
    runs.set(kind, { ns, tracker, proxier });
  }
  for (const [i, step] of steps.entries()) {
    const lists: string[][] = [];
    for (const [kind, run] of runs) {
      step(run.tracker);
      const c = run.tracker.checkout();
      const r = await run.proxier.sync({ snapshot: c.snapshot.families.IPv4, node: c.snapshot.node, changedServices: c.changedServices, forceFullSync: false });
      t.equal(r.full, i === 0, `${kind} step ${i}: ${i === 0 ? 'full' : 'partial'} sync`);
      lists.push(await listing(run.ns, 'IPv4'));
    }
    if (lists.length === 2) t.same(lists[1], lists[0], `step ${i}: both appliers leave identical tables`);
    now += 1100; // the stale chains of this step become deletable at the next one
  }
  for (const [kind, run] of runs) {
    const fresh = netns(t, `fresh-${kind}`);
    const c = run.tracker.checkout();
    const doc = buildSyncPlan({
      snapshot: c.snapshot.families.IPv4,
      config: nftablesConfigFor(loadScenario('overall'), 'IPv4'),
      names: new NftablesNames(),
      applied: emptyAppliedState(),
      full: true,
      firstSync: true,
      changedServices: new Set(),
      now: 0,
    }).document;
    await nftCommandApplier({ netns: fresh }).apply(doc);
    t.same(await listing(run.ns, 'IPv4'), await listing(fresh, 'IPv4'), `${kind}: after the partial syncs the table equals a fresh full sync`);

    t.equal(await cleanupNftables(['IPv4', 'IPv6'], { netns: run.ns }), 1, `${kind}: cleanup deletes the ip table`);
    t.equal(await cleanupNftables(['IPv4', 'IPv6'], { netns: run.ns }), 0, 'and finds nothing the second time');
    const left = await runNft(['list', 'ruleset'], { netns: run.ns });
    t.equal(left.stdout.trim(), '', 'nothing left in the namespace');
  }
});


import t from 'tap';
import { ChangeTracker } from '../../src/model/tracker.js';
import { computeProbability, generateIptablesRules, type IptablesRuleConfig } from '../../src/modes/iptables/rules.js';
import { ChainNames } from '../../src/modes/iptables/naming.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { service, slice, p80 } from '../support/unit/model-fixtures.js';

const config: IptablesRuleConfig = {
  family: 'IPv4',
  masqueradeMark: '0x4000',
  masqueradeAll: false,
  localDetector: { kind: 'cidr', cidr: '10.0.0.0/8' },
  localhostNodePorts: true,
  nodePortAddresses: { matchAll: true },
  nodeIP: '192.168.0.2',
  randomFully: true,
  dropInvalid: true,
  topology: { nodeName: 'test-node', zone: '' },
  preferSameNode: true,
};

function gen(snapshot: Snapshot, opts: Partial<Parameters<typeof generateIptablesRules>[0]> = {}, cfg: Partial<IptablesRuleConfig> = {}) {
  return generateIptablesRules({
    snapshot: snapshot.families[cfg.family ?? 'IPv4'],
    config: { ...config, ...cfg },
    changedServices: undefined,
    existingNatChains: undefined,
    names: new ChainNames(),
    ...opts,
  });
}

const lines = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l));

t.test('probabilities: 10 decimals, strictly decreasing, unique up to 100000', async (t) => {
  t.equal(computeProbability(1), '1.0000000000');
  t.equal(computeProbability(2), '0.5000000000');
  t.equal(computeProbability(3), '0.3333333333');
  t.equal(computeProbability(100001), '0.0000099999');
  const seen = new Set<string>();
  let decreasing = true;
  let prev = Infinity;
  for (let n = 1; n <= 100000; n++) {
    const p = Number(computeProbability(n));
    if (!(p < prev)) decreasing = false;
    prev = p;
    seen.add(computeProbability(n));
  }
  t.ok(decreasing, 'strictly decreasing');
  t.equal(seen.size, 100000, 'no two n give the same string');
});

t.test('load balancing across n endpoints with affinity', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'test-node' });
  tr.upsertService(service('ns', 'web', { clusterIP: '10.96.0.10', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: p80 }));
  tr.upsertEndpointSlice(slice('ns', 'web', 'w', [{ addresses: ['10.1.0.1'] }, { addresses: ['10.1.0.2'] }, { addresses: ['10.1.0.3'] }]));
  const text = gen(tr.checkout().snapshot).text;
  const svc = lines(text, /^-A KUBE-SVC-/);
  t.equal(lines(text, /--rcheck --seconds 60 --reap/).length, 3, 'one affinity rule per endpoint');
  t.match(svc.filter((l) => l.includes('statistic')).map((l) => l.match(/probability (\S+)/)![1]), ['0.3333333333', '0.5000000000']);
  t.equal(lines(text, /-m recent --name KUBE-SEP-\S+ --set -m tcp -p tcp -j DNAT/).length, 3);
  t.ok(text.includes('-j MASQUERADE --random-fully'));
  const firstAffinity = svc.findIndex((l) => l.includes('--rcheck'));
  const firstStat = svc.findIndex((l) => l.includes('statistic'));
  t.ok(firstAffinity < firstStat, 'affinity rules come before the statistic rules');
});

t.test('internalTrafficPolicy=Local with only remote endpoints drops; with none rejects', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'test-node' });
  tr.upsertService(service('ns', 'itp', { clusterIP: '10.96.0.11', internalTrafficPolicy: 'Local', ports: p80 }));
  tr.upsertEndpointSlice(slice('ns', 'itp', 'a', [{ addresses: ['10.1.0.1'], nodeName: 'other' }]));
  const r = gen(tr.checkout().snapshot);
  t.equal(lines(r.text, /has no local endpoints" -m tcp -p tcp -d 10.96.0.11 --dport 80 -j DROP/).length, 1);
  t.same(r.noLocalEndpoints, { internal: 1, external: 0 });
  tr.deleteEndpointSlice('ns/a');
  t.equal(lines(gen(tr.checkout().snapshot).text, /has no endpoints" .* -j REJECT/).length, 1);
});

t.test('ITP=Local with a local endpoint dispatches to KUBE-SVL without masquerade', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'test-node' });
  tr.upsertService(service('ns', 'itp', { clusterIP: '10.96.0.11', internalTrafficPolicy: 'Local', ports: p80 }));
  tr.upsertEndpointSlice(slice('ns', 'itp', 'a', [{ addresses: ['10.1.0.1'], nodeName: 'test-node' }, { addresses: ['10.1.0.2'], nodeName: 'other' }]));
  const text = gen(tr.checkout().snapshot).text;
  t.equal(lines(text, /^-A KUBE-SERVICES .*-j KUBE-SVL-/).length, 1);
  t.equal(lines(text, /^-A KUBE-SVL-.*! -s 10.0.0.0\/8 -j KUBE-MARK-MASQ/).length, 1, 'as upstream, off-cluster sources to the ClusterIP are masqueraded, pods keep theirs');
  t.equal(lines(text, /^:KUBE-SEP-/).length, 1, 'only the local endpoint is reachable');
});

t.test('partial sync rewrites only changed services; stale chains are deleted', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'test-node' });
  for (const n of ['a', 'b']) {
    tr.upsertService(service('ns', n, { clusterIP: n === 'a' ? '10.96.0.1' : '10.96.0.2', ports: p80 }));
    tr.upsertEndpointSlice(slice('ns', n, n, [{ addresses: [n === 'a' ? '10.1.0.1' : '10.1.0.2'] }]));
  }
  const names = new ChainNames();
  const full = gen(tr.checkout().snapshot, { names });
  t.equal(lines(full.text, /^:KUBE-SVC-/).length, 2);
  tr.upsertEndpointSlice(slice('ns', 'a', 'a', [{ addresses: ['10.1.0.9'] }]));
  const c = tr.checkout();
  const partial = gen(c.snapshot, { names, changedServices: c.changedServices, existingNatChains: full.activeNatChains });
  const declared = lines(partial.text, /^:KUBE-(SVC|SEP)-/);
  t.equal(declared.length, 3, "a's SVC chain, its new SEP chain, and its old SEP chain (to delete)");
  t.equal(lines(partial.text, /^-X KUBE-SEP-/).length, 1, 'the old endpoint chain is deleted');
  t.equal(lines(partial.text, /^-A KUBE-SERVICES .*10.96.0.2/).length, 1, 'KUBE-SERVICES is always complete');
  t.ok(partial.rulesTotal.nat > partial.rulesWritten.nat, 'unchanged services are counted, not written');
  t.equal(partial.staleChainsDeleted, 1);
});

t.test('large clusters drop comments on endpoint rules', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'test-node' });
  tr.upsertService(service('ns', 'big', { clusterIP: '10.96.0.1', ports: p80 }));
  for (let s = 0; s < 2; s++) {
    tr.upsertEndpointSlice(slice('ns', 'big', `big-${s}`, Array.from({ length: 501 }, (_, i) => ({ addresses: [`10.${s + 1}.${i >> 8}.${i & 255}`] }))));
  }
  const r = gen(tr.checkout().snapshot);
  t.ok(r.largeClusterMode);
  t.equal(lines(r.text, /^-A KUBE-SEP-.*--comment/).length, 0);
  t.equal(lines(r.text, /^-A KUBE-SVC-.*-j KUBE-SEP-.*--comment/).length, 0);
  t.equal(lines(r.text, /^-A KUBE-SVC-.*cluster IP.*KUBE-MARK-MASQ/).length, 1, 'the masquerade rule keeps its comment');
});

t.test('IPv6: nodeports never on ::1, bracketed DNAT targets', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'test-node' });
  tr.upsertService(service('ns', 'v6', { type: 'NodePort', clusterIP: 'fd00::10', clusterIPs: ['fd00::10'], ipFamilies: ['IPv6'], ports: [{ name: 'p80', port: 80, nodePort: 30080 }] }));
  tr.upsertEndpointSlice(slice('ns', 'v6', 'v', [{ addresses: ['fd00:1::5'] }], p80, 'IPv6'));
  const r = gen(tr.checkout().snapshot, {}, { family: 'IPv6', localDetector: { kind: 'cidr', cidr: 'fd00:1::/64' } });
  t.ok(r.text.includes('--to-destination [fd00:1::5]:80'));
  t.ok(r.text.includes('-m addrtype --dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS'));
  t.notOk(r.localhostNodePortsActive);
});

t.test('explicit node port addresses and masqueradeAll', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'test-node' });
  tr.upsertService(service('ns', 's', { clusterIP: '10.96.0.1', ports: p80 }));
  tr.upsertEndpointSlice(slice('ns', 's', 's', [{ addresses: ['10.1.0.1'] }]));
  const r = gen(tr.checkout().snapshot, {}, { masqueradeAll: true, localhostNodePorts: false, nodePortAddresses: { matchAll: false, ips: ['127.0.0.1', '192.168.0.2'] } });
  t.same(lines(r.text, /nodeports; NOTE/).map((l) => l.match(/-d (\S+)/)![1]), ['192.168.0.2'], 'loopback skipped without localhost nodeports');
  t.equal(lines(r.text, /^-A KUBE-SVC-.*cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 80 -j KUBE-MARK-MASQ$/).length, 1, 'masqueradeAll: no source match');
  t.notOk(r.text.includes('KUBE-FIREWALL'));
});

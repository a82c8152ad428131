import t from 'tap';
import { planIpvsTableCleanup } from '../../src/modes/ipvs/cleanup-plan.js';
import { parseIpsetVersion } from '../../src/modes/ipvs/capability.js';
import { describeIpvsOperation } from '../../src/modes/ipvs/describe.js';
import { gracefulCheckIntervalMs } from '../../src/modes/ipvs/factory.js';
import { removalMode } from '../../src/modes/ipvs/graceful.js';
import { parseIpsetSave, planIpsetRestore } from '../../src/modes/ipvs/ipset-restore.js';
import { nodePortIPs, planAddresses } from '../../src/modes/ipvs/addresses.js';
import { ipvsSysctls, parseKernelVersion } from '../../src/modes/ipvs/sysctls.js';

t.test('sysctls: conn_reuse_mode=0 only on kernels 4.1 to 5.8; strict ARP on request', async (t) => {
  const names = (release: string, strict = false) => ipvsSysctls(release, strict).settings.map((s) => `${s.name}=${s.value}`);
  t.same(names('6.1.0-57-amd64'), ['net/ipv4/vs/conntrack=1', 'net/ipv4/vs/expire_nodest_conn=1', 'net/ipv4/vs/expire_quiescent_template=1', 'net/ipv4/ip_forward=1']);
  t.ok(names('5.4.0-100-generic').includes('net/ipv4/vs/conn_reuse_mode=0'));
  t.notOk(names('5.9.0').includes('net/ipv4/vs/conn_reuse_mode=0'));
  t.notOk(names('4.0.9').includes('net/ipv4/vs/conn_reuse_mode=0'));
  t.same(names('6.1.0', true).slice(-2), ['net/ipv4/conf/all/arp_ignore=1', 'net/ipv4/conf/all/arp_announce=2']);
  t.same(parseKernelVersion('weird'), undefined);
});

t.test('ipset save parsing and the restore difference (never a flush)', async (t) => {
  const kernel = parseIpsetSave(
    [
      'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1',
      'add KUBE-CLUSTER-IP 10.96.0.1,tcp:443',
      'add KUBE-CLUSTER-IP 10.96.0.9,tcp:80',
      'create other hash:ip family inet',
      'add other 1.2.3.4',
    ].join('\n'),
  );
  t.same([...kernel.get('KUBE-CLUSTER-IP')!.entries], ['10.96.0.1,tcp:443', '10.96.0.9,tcp:80']);
  const plan = planIpsetRestore('IPv4', new Map([['KUBE-CLUSTER-IP', new Set(['10.96.0.1,tcp:443', '10.96.0.10,tcp:53'])]]), kernel);
  const lines = plan.script.trim().split('\n');
  t.ok(lines.includes('del KUBE-CLUSTER-IP 10.96.0.9,tcp:80'));
  t.ok(lines.includes('add KUBE-CLUSTER-IP 10.96.0.10,tcp:53'));
  t.ok(lines.includes('create KUBE-NODE-PORT-TCP bitmap:port range 0-65535'));
  t.ok(lines.includes('create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536'));
  t.notOk(lines.some((l) => l.startsWith('flush') || l.includes(' other ')), 'no flush, foreign sets untouched');
  t.same({ created: plan.created, added: plan.added, deleted: plan.deleted }, { created: 16, added: 1, deleted: 1 });
  t.match(planIpsetRestore('IPv6', new Map(), new Map()).script, /create KUBE-6-CLUSTER-IP hash:ip,port family inet6 /);
});

t.test('kube-ipvs0 address plan and NodePort addresses', async (t) => {
  const plan = planAddresses('IPv4', ['10.96.0.1', '10.96.0.2'], ['10.96.0.2', '10.96.0.3', 'fd00::1']);
  t.same(plan.bind, [{ op: 'add', link: 'kube-ipvs0', address: '10.96.0.1', prefixLen: 32 }]);
  t.same(plan.unbind, [{ op: 'delete', link: 'kube-ipvs0', address: '10.96.0.3', prefixLen: 32 }], 'the other family is not ours to remove');
  t.same(planAddresses('IPv6', ['fd00::1'], []).bind, [{ op: 'add', link: 'kube-ipvs0', address: 'fd00::1', prefixLen: 128, noDad: true }]);
  t.same(nodePortIPs({ matchAll: true }, ['127.0.0.1', '192.168.0.2', 'fe80::1', '2001:db8::2']), ['192.168.0.2', '2001:db8::2']);
  t.same(nodePortIPs({ matchAll: false, ips: ['127.0.0.1', '192.168.1.2'] }, ['192.168.0.2']), ['192.168.1.2']);
});

t.test('graceful removal decision', async (t) => {
  t.equal(removalMode('UDP', { activeConnections: 5, inactiveConnections: 0 }), 'delete');
  t.equal(removalMode('SCTP', { activeConnections: 5, inactiveConnections: 0 }), 'delete');
  t.equal(removalMode('TCP', { activeConnections: 0, inactiveConnections: 0 }), 'delete');
  t.equal(removalMode('TCP', { activeConnections: 0, inactiveConnections: 2 }), 'drain');
  t.equal(gracefulCheckIntervalMs({}), 60_000, 'upstream: one minute');
  t.equal(gracefulCheckIntervalMs({ KPT_IPVS_GRACEFUL_CHECK_INTERVAL: '2s' }), 2000);
  t.equal(gracefulCheckIntervalMs({ KPT_IPVS_GRACEFUL_CHECK_INTERVAL: 'nonsense' }), 60_000);
});

t.test('ipset version and operations as ipvsadm commands', async (t) => {
  t.same(parseIpsetVersion('ipset v7.17, protocol version: 7'), [7, 17]);
  t.equal(parseIpsetVersion('nothing'), undefined);
  const svc = { family: 2 as const, protocol: 6, address: '10.96.0.1', port: 80 };
  t.equal(describeIpvsOperation({ op: 'addService', service: { ...svc, scheduler: 'rr', flags: 1, timeout: 60 } }), 'ipvsadm -A -t 10.96.0.1:80 -s rr -p 60');
  t.equal(describeIpvsOperation({ op: 'editDestination', service: { ...svc, protocol: 17 }, destination: { address: 'fd00::5', port: 53, weight: 0 } }), 'ipvsadm -e -u 10.96.0.1:80 -r [fd00::5]:53 -m -w 0');
  t.equal(describeIpvsOperation({ op: 'deleteService', service: svc }), 'ipvsadm -D -t 10.96.0.1:80');
});

const SAVE = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SEP-ABC - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
-A KUBE-SEP-ABC -s 10.1.0.1/32 -j KUBE-MARK-MASQ
COMMIT
*filter
:INPUT ACCEPT [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-FORWARD - [0:0]
-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER
-A INPUT -m comment --comment "something else" -j KUBE-FORWARD
COMMIT
`;

t.test('cleanup plan: jumps first, chains flushed, deleted unless something left in place still jumps to them', async (t) => {
  const nat = planIpvsTableCleanup(SAVE, 'nat', false);
  t.same(nat.jumps.map((j) => j.slice(0, 4).join(' ')), ['-t nat -D OUTPUT', '-t nat -D PREROUTING', '-t nat -D POSTROUTING']);
  t.same(nat.ipvsOnlyChains, ['KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER']);
  t.match(nat.restore, /:KUBE-MARK-MASQ - \[0:0\]/);
  t.notMatch(nat.restore, /-X KUBE-MARK-MASQ/, "iptables mode's leftover KUBE-SEP chain still jumps to it");
  t.match(nat.restore, /-X KUBE-SERVICES\n-X KUBE-POSTROUTING\n-X KUBE-NODE-PORT\n-X KUBE-LOAD-BALANCER\n/);

  const keep = planIpvsTableCleanup(SAVE, 'nat', true);
  t.notMatch(keep.restore, /-X KUBE-SERVICES|-X KUBE-POSTROUTING/, 'switching to iptables mode: shared chains are flushed, not deleted');
  t.match(keep.restore, /-X KUBE-NODE-PORT/);

  const filter = planIpvsTableCleanup(SAVE, 'filter', false);
  t.same(filter.jumps, [['-t', 'filter', '-D', 'INPUT', '-m', 'comment', '--comment', 'kubernetes ipvs access filter', '-j', 'KUBE-IPVS-FILTER']]);
  t.match(filter.restore, /-X KUBE-IPVS-FILTER/);
  t.notMatch(filter.restore, /-X KUBE-FORWARD/, 'a foreign jump keeps KUBE-FORWARD');
  t.same(planIpvsTableCleanup('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n', 'nat', false), { jumps: [], restore: '', ipvsOnlyChains: [] });
});

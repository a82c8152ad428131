// The lab's addressing and namespace plans, checked without root or namespaces.
import t from 'tap';
import { addressAt, canonicalIp, cidrContains, ipToBigInt, bigIntToIp, parseCidr, formatCidr, subnetAt } from '../../src/lab/addresses.js';
import { clientBatch, clientSysctls, lanBatch, nodeBatch, nodeSysctls, podBatch, podNodeBatch } from '../../src/lab/plan.js';
import { resolveTimeouts, resolveTopology } from '../../src/lab/topology.js';
import { isOwnerAlive, netnsNameFor, newLabId, parseNetnsName, processStartTime } from '../../src/lab/owner.js';
import { countByPod, describeResults, summarize } from '../../src/lab/results.js';
import type { ProbeResult } from '../../src/lab/agent-protocol.js';

t.test('address arithmetic', async (t) => {
  t.equal(addressAt('10.244.1.0/24', 5), '10.244.1.5');
  t.equal(formatCidr(subnetAt('10.244.0.0/16', 24, 2)), '10.244.2.0/24');
  t.equal(formatCidr(subnetAt('fd00:10:244::/56', 64, 2)), 'fd00:10:244:2::/64');
  t.equal(bigIntToIp(ipToBigInt('fd00:0:0:1::'), 'IPv6'), 'fd00:0:0:1::');
  t.equal(canonicalIp('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  t.equal(canonicalIp('::ffff:10.0.0.1'), '::ffff:a00:1');
  t.equal(canonicalIp('1:0:0:2:0:0:0:3'), '1:0:0:2::3', 'the longest zero run is compressed');
  t.equal(canonicalIp('1:0:2:3:4:5:6:7'), '1:0:2:3:4:5:6:7', 'a single zero group is not');
  t.ok(cidrContains('10.244.0.0/16', '10.244.7.9'));
  t.notOk(cidrContains('10.244.0.0/16', '10.245.0.1'));
  t.notOk(cidrContains('10.244.0.0/16', 'fd00::1'));
  t.equal(formatCidr(parseCidr('10.1.2.3/8')), '10.0.0.0/8', 'host bits are cleared');
  t.throws(() => parseCidr('10.0.0.0/33'));
  t.throws(() => addressAt('10.0.0.0/30', 4));
});

t.test('default topology', async (t) => {
  const topo = resolveTopology({ nodes: 2 });
  t.same(topo.families, ['IPv4', 'IPv6']);
  t.same(
    topo.nodes.map((n) => [n.name, n.ips, n.podCidrs]),
    [
      ['node1', { IPv4: '192.168.50.11', IPv6: 'fd00:50::11' }, { IPv4: '10.244.1.0/24', IPv6: 'fd00:10:244:1::/64' }],
      ['node2', { IPv4: '192.168.50.12', IPv6: 'fd00:50::12' }, { IPv4: '10.244.2.0/24', IPv6: 'fd00:10:244:2::/64' }],
    ],
  );
  t.same(topo.clients, [
    { name: 'client', ips: { IPv4: ['192.168.50.100', '192.168.50.101'], IPv6: ['fd00:50::100', 'fd00:50::101'] } },
  ]);
  t.same(topo.lan.IPv4, { cidr: '192.168.50.0/24', prefix: 24, gateway: '192.168.50.1' });
  t.equal(topo.ingressNode, 'node1');
  t.same(topo.serviceCidrs, { IPv4: '10.96.0.0/16', IPv6: 'fd00:10:96::/112' });
});

t.test('options are checked', async (t) => {
  t.throws(() => resolveTopology({ nodes: ['node1', 'node1'] }), /used twice/);
  t.throws(() => resolveTopology({ clients: ['node1'] }), /used twice/);
  t.throws(() => resolveTopology({ nodes: ['lan'] }), /reserved/);
  t.throws(() => resolveTopology({ nodes: ['Node_1'] }), /DNS label/);
  t.throws(() => resolveTopology({ ingressNode: 'node9' }), /ingress node/);
  t.throws(() => resolveTopology({ clients: [{ name: 'c', ipv4: ['10.0.0.1'] }] }), /not inside/);
  t.throws(() => resolveTopology({ serviceCidrs: { IPv4: 'fd00::/64' } }), /not IPv4/);
  t.throws(() => resolveTopology({ families: [] }), /at least one/);
  const v4 = resolveTopology({ families: ['IPv4'], clients: ['a', { name: 'b', ipv4: ['192.168.50.200'] }] });
  t.same(v4.clients.map((c) => c.ips), [{ IPv4: ['192.168.50.100', '192.168.50.101'] }, { IPv4: ['192.168.50.200'] }]);
  t.same(v4.nodes[0]!.ips, { IPv4: '192.168.50.11' }, 'no IPv6 anywhere in an IPv4-only lab');
});

t.test('timeouts scale for slow machines', async (t) => {
  t.equal(resolveTimeouts({ timeScale: 5 }).requestMs, 10_000);
  t.equal(resolveTimeouts({ timeScale: 5, timeouts: { requestMs: 300 } }).requestMs, 300, 'explicit values win');
});

t.test('namespace plans', async (t) => {
  const topo = resolveTopology({ nodes: 2 });
  const lan = lanBatch(topo, (n) => `X-${n}`);
  t.ok(lan.includes('link add lan0 type bridge mcast_snooping 0'));
  t.ok(lan.includes('link add n2 type veth peer name eth0 netns X-node2'));
  t.ok(lan.includes('link add c1 type veth peer name eth0 netns X-client'));
  t.ok(lan.includes('addr add fd00:50::1/64 dev lan0 nodad'));

  const node1 = nodeBatch(topo, topo.nodes[0]!);
  t.ok(node1.includes('route add 10.244.2.0/24 via 192.168.50.12'), 'routes to the other node pods');
  t.ok(node1.includes('route add fd00:10:244:2::/64 via fd00:50::12'));
  t.ok(node1.includes('route add unreachable 10.244.1.0/24'));
  t.notOk(node1.some((l) => l.includes('10.244.1.0/24 via')), 'no route for its own pods via the LAN');
  t.same(
    nodeSysctls(topo).map((s) => s.key),
    ['net.ipv4.icmp_ratemask', 'net.ipv6.icmp.ratemask', 'net.ipv4.ip_forward', 'net.ipv4.conf.default.proxy_arp', 'net.ipv4.conf.all.send_redirects', 'net.ipv4.conf.eth0.send_redirects', 'net.ipv6.conf.all.forwarding', 'net.ipv6.conf.all.accept_dad', 'net.ipv6.conf.default.accept_dad', 'net.ipv6.conf.eth0.accept_dad'],
  );

  t.same(
    clientSysctls(topo).map((s) => `${s.key}=${s.value}`),
    ['net.ipv4.conf.all.accept_redirects=0', 'net.ipv4.conf.eth0.accept_redirects=0', 'net.ipv6.conf.all.accept_redirects=0', 'net.ipv6.conf.eth0.accept_redirects=0',
      'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.eth0.accept_dad=0'],
  );
  t.same(clientSysctls(resolveTopology({ families: ['IPv6'] })).length, 5);
  t.same(clientSysctls(resolveTopology({ families: ['IPv4'] })).length, 2, 'no IPv6 settings in an IPv4-only lab');

  const client = clientBatch(topo, topo.clients[0]!);
  t.ok(client.includes('route add 10.96.0.0/16 via 192.168.50.11 src 192.168.50.100'));
  t.ok(client.includes('route add 203.0.113.0/24 via 192.168.50.11 src 192.168.50.100'));
  t.ok(client.includes('route add 10.244.2.0/24 via 192.168.50.12 src 192.168.50.100'));
  t.ok(client.includes('addr add 192.168.50.101/24 dev eth0'));
  const noPodRoutes = clientBatch(resolveTopology({ clientPodRoutes: false }), topo.clients[0]!);
  t.notOk(noPodRoutes.some((l) => l.includes('10.244.')));

  const pod = { podNetns: 'X-web', veth: 'vpod1', ips: { IPv4: '10.244.1.2', IPv6: 'fd00:10:244:1::2' } };
  t.same(podNodeBatch(pod), [
    'link add vpod1 address ee:ee:ee:ee:ee:ee type veth peer name eth0 netns X-web',
    'link set vpod1 up',
    'addr add fe80::1/64 dev vpod1 nodad',
    'route add 10.244.1.2/32 dev vpod1',
    'route add fd00:10:244:1::2/128 dev vpod1',
  ]);
  t.same(podBatch(pod), [
    'link set lo up',
    'link set eth0 up',
    'addr add 10.244.1.2/32 dev eth0',
    'neigh add 169.254.1.1 lladdr ee:ee:ee:ee:ee:ee dev eth0 nud permanent',
    'route add 169.254.1.1/32 dev eth0 scope link',
    'route add 0.0.0.0/0 via 169.254.1.1 dev eth0',
    'addr add fd00:10:244:1::2/128 dev eth0 nodad',
    'neigh add fe80::1 lladdr ee:ee:ee:ee:ee:ee dev eth0 nud permanent',
    'route add ::/0 via fe80::1 dev eth0',
  ]);
});

t.test('namespace names carry their owner', async (t) => {
  const id = newLabId();
  const parsed = parseNetnsName(netnsNameFor(id, 'web-1-2'));
  t.same(parsed, { labId: id, ownerPid: process.pid, ownerStart: processStartTime(process.pid), member: 'web-1-2' });
  t.ok(isOwnerAlive(parsed!));
  t.notOk(isOwnerAlive({ ownerPid: process.pid, ownerStart: 'zzz' }), 'a reused pid with another start time is not the owner');
  t.equal(parseNetnsName('kptn-probe'), undefined, 'names not made by the lab are not ours');
  t.equal(parseNetnsName('kplab-foreign'), undefined);
});

t.test('result tallies', async (t) => {
  const results: ProbeResult[] = [
    { ok: true, pod: 'a', client: '1.1.1.1:5', clientIp: '1.1.1.1', clientPort: 5, ms: 1 },
    { ok: true, pod: 'a', client: '1.1.1.2:5', clientIp: '1.1.1.2', clientPort: 5, ms: 3 },
    { ok: true, pod: 'b', client: '1.1.1.1:6', clientIp: '1.1.1.1', clientPort: 6, ms: 2 },
    { ok: false, error: 'timeout', message: 'x', ms: 9 },
  ];
  t.same(countByPod(results), { a: 2, b: 1 });
  t.same(summarize(results), {
    total: 4,
    ok: 3,
    failed: 1,
    byPod: { a: 2, b: 1 },
    byClientIp: { '1.1.1.1': 2, '1.1.1.2': 1 },
    byError: { timeout: 1 },
    maxMs: 9,
  });
  t.equal(describeResults(results), '4 sent: a 2, b 1, timeout 1');
});

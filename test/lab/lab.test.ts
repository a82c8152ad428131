// The lab with real namespaces and real packets (root only): topology, backends, traffic helpers,
// processes, and that nothing outlives it.
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Lab, countByPod, summarize } from '../../src/lab/index.js';
import { listNetns } from '../../src/lab/namespaces.js';

const alive = (pid: number | undefined) => pid !== undefined && existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
const labNamespaces = (lab: Lab) => listNetns().filter((n) => n.startsWith(`${lab.id}-`));

/** Live processes whose command line mentions `text` (agents carry their namespace name in argv). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(text) && alive(Number(e));
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
}

t.test('a lab comes up and goes away without a trace', async (t) => {
  const lab = await Lab.create({ nodes: 2 });
  t.same(labNamespaces(lab).sort(), Object.values(lab.namespaces()).sort(), 'one namespace per member');
  t.same(Object.keys(lab.namespaces()).sort(), ['client', 'lan', 'node1', 'node2']);
  await lab.addPods([{ name: 'a', udpPorts: [53] }, { name: 'b', node: 'node2' }]);
  await lab.http('client', lab.podIp('a'), 8080); // starts the client agent too
  const sleeper = lab.spawn('node1', ['sleep', '600']);
  const listed = (await lab.exec('client', ['ip', 'netns', 'list'])).stdout;
  t.ok(Object.values(lab.namespaces()).every((n) => listed.includes(n)), '`ip netns list` shows all six');

  const agents = processesMentioning(lab.id);
  t.equal(agents.length, 3, 'agents in a, b and client');
  await lab.destroy();
  t.same(labNamespaces(lab), [], 'no namespace left');
  t.notOk(alive(sleeper.pid), 'spawned process killed');
  t.same(agents.filter(alive), [], 'agents gone');
  t.same(processesMentioning(lab.id), [], 'nothing else mentions the lab');
  await lab.destroy(); // a second call is harmless
  t.throws(() => lab.spawn('node1', ['true']), /destroyed/);
});

t.test('traffic in a two-node lab', async (t) => {
  const lab = await Lab.create({ nodes: 2 });
  t.teardown(() => lab.destroy());
  await lab.addPods([
    { name: 'web-1', node: 'node1', tcpPorts: [8080, 9090], udpPorts: [5353] },
    { name: 'web-2', node: 'node1' },
    { name: 'web-3', node: 'node2', udpPorts: [5353] },
  ]);
  t.same(lab.pod('web-1').ips, { IPv4: '10.244.1.2', IPv6: 'fd00:10:244:1::2' });
  t.same(lab.pod('web-3').ips, { IPv4: '10.244.2.2', IPv6: 'fd00:10:244:2::2' });
  t.same(lab.pods('node1').map((p) => p.name), ['web-1', 'web-2']);

  t.test('a pod answers by pod IP from its node, the other node, a client and another pod', async (t) => {
    const ip = lab.podIp('web-1');
    const seen: Record<string, string> = {};
    for (const from of ['node1', 'node2', 'client', 'web-2', 'web-3']) {
      const [r] = await lab.http(from, ip, 8080);
      t.ok(r?.ok, `from ${from}: ${JSON.stringify(r)}`);
      if (r?.ok) {
        t.equal(r.pod, 'web-1');
        t.equal(r.local, `${ip}:8080`);
        seen[from] = r.clientIp!;
      }
    }
    t.same(seen, {
      node1: lab.nodeIp('node1'),
      node2: lab.nodeIp('node2'),
      client: lab.clientIp('client'),
      'web-2': lab.podIp('web-2'),
      'web-3': lab.podIp('web-3'),
    }, 'the backend sees the real source: no NAT anywhere in the bare lab');
  });

  t.test('pod to pod across nodes, both families', async (t) => {
    for (const family of ['IPv4', 'IPv6'] as const) {
      const [r] = await lab.http('web-3', lab.podIp('web-1', family), 9090);
      t.match(r, { ok: true, pod: 'web-1', clientIp: lab.podIp('web-3', family) }, family);
      const [back] = await lab.http('web-1', lab.podIp('web-3', family), 8080);
      t.match(back, { ok: true, pod: 'web-3', clientIp: lab.podIp('web-1', family) }, `${family} back`);
    }
  });

  t.test('IPv6 from the client', async (t) => {
    const [r] = await lab.http('client', `[${lab.podIp('web-3', 'IPv6')}]`, 8080);
    t.match(r, { ok: true, pod: 'web-3', clientIp: lab.clientIp('client', 'IPv6'), client: /^\[fd00:50::100\]:\d+$/ });
  });

  t.test('UDP', async (t) => {
    const results = await lab.udp('client', lab.podIp('web-3'), 5353, { count: 20 });
    t.same(countByPod(results), { 'web-3': 20 });
    const ports = new Set(results.map((r) => (r.ok ? r.clientPort : 0)));
    t.equal(ports.size, 20, 'each datagram from its own socket (own source port, own conntrack entry)');
    const [v6] = await lab.udp('web-3', lab.podIp('web-1', 'IPv6'), 5353);
    t.match(v6, { ok: true, pod: 'web-1', clientIp: lab.podIp('web-3', 'IPv6') });
    const [refused] = await lab.udp('client', lab.podIp('web-2'), 5353);
    t.match(refused, { ok: false, error: 'refused' }, 'nothing listening: ICMP port unreachable -> refused');
  });

  t.test('refused (REJECT / nothing listening) is told apart from timeout (DROP)', async (t) => {
    const ip = lab.podIp('web-2');
    const [closed] = await lab.http('client', ip, 7777);
    t.match(closed, { ok: false, error: 'refused', phase: 'connect' });
    t.ok(closed!.ms < 500, `refused at once (${closed!.ms} ms)`);

    await lab.exec('web-2', ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '8080', '-j', 'DROP']);
    const [dropped] = await lab.http('client', ip, 8080, { timeoutMs: 400 });
    t.match(dropped, { ok: false, error: 'timeout', phase: 'connect' });
    await lab.exec('web-2', ['iptables', '-F', 'INPUT']);

    await lab.exec('web-2', ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '8080', '-j', 'REJECT']);
    const [rejected] = await lab.http('client', ip, 8080);
    t.match(rejected, { ok: false, error: 'refused' }, 'REJECT (icmp-port-unreachable) -> refused');
    await lab.exec('web-2', ['iptables', '-F', 'INPUT']);

    await lab.exec('web-2', ['iptables', '-A', 'INPUT', '-p', 'udp', '--dport', '5353', '-j', 'DROP']);
    const [udpDropped] = await lab.udp('client', ip, 5353, { timeoutMs: 300 });
    t.match(udpDropped, { ok: false, error: 'timeout' });
    await lab.exec('web-2', ['iptables', '-F', 'INPUT']);

    const [unassigned] = await lab.http('client', '10.244.1.250', 8080);
    t.match(unassigned, { ok: false, error: 'unreachable' }, 'an address of the pod CIDR without a pod fails fast');
    t.match((await lab.http('web-2', ip, 8080))[0], { ok: true }, 'back to normal');
  });

  t.test('same-node pod traffic is routed through the node netfilter hooks', async (t) => {
    // A bridge would switch web-2 -> web-1 at L2; the routed design must show it in node1's FORWARD.
    await lab.exec('node1', ['iptables', '-I', 'FORWARD', '-s', lab.podIp('web-2'), '-d', lab.podIp('web-1'), '-j', 'DROP']);
    const [r] = await lab.http('web-2', lab.podIp('web-1'), 8080, { timeoutMs: 300 });
    t.match(r, { ok: false, error: 'timeout' });
    await lab.exec('node1', ['iptables', '-D', 'FORWARD', '-s', lab.podIp('web-2'), '-d', lab.podIp('web-1'), '-j', 'DROP']);
    t.match((await lab.http('web-2', lab.podIp('web-1'), 8080))[0], { ok: true, pod: 'web-1' });
  });

  t.test('hairpin: a pod reaches itself through a virtual IP DNATed on its node', async (t) => {
    // What kube-proxy does for a ClusterIP whose endpoint is the client itself.
    const vip = lab.serviceIp(10);
    const self = lab.podIp('web-1');
    await lab.exec('node1', ['iptables-restore', '--noflush'], {
      input: [
        '*nat',
        `-A PREROUTING -d ${vip}/32 -p tcp --dport 80 -j DNAT --to-destination ${self}:8080`,
        `-A POSTROUTING -s ${self}/32 -d ${self}/32 -j MASQUERADE`,
        'COMMIT',
        '',
      ].join('\n'),
    });
    const [r] = await lab.http('web-1', vip, 80);
    t.match(r, { ok: true, pod: 'web-1', local: `${self}:8080`, clientIp: lab.nodeIp('node1') });
    const [fromClient] = await lab.http('client', vip, 80);
    t.match(fromClient, { ok: true, pod: 'web-1', clientIp: lab.clientIp() }, 'clients route the service CIDR to node1');
    await lab.exec('node1', ['iptables', '-t', 'nat', '-F']);
  });

  t.test('a VIP that failed before its rules existed works once they do (no redirect sticks)', async (t) => {
    for (const family of ['IPv4', 'IPv6'] as const) {
      const vip = lab.serviceIp(20, family);
      const before = await lab.http('client', vip, 80, { count: 3, timeoutMs: 300 });
      t.ok(before.every((r) => !r.ok), `${family}: nothing answers without rules (${before.map((r) => (r.ok ? 'ok' : r.error))})`);
      const restore = family === 'IPv4' ? 'iptables-restore' : 'ip6tables-restore';
      // A pod on node1: replies from a pod on node2 would bypass node1 and its un-DNAT (no masquerade here).
      const target = family === 'IPv4' ? `${lab.podIp('web-1', family)}:8080` : `[${lab.podIp('web-1', family)}]:8080`;
      await lab.exec('node1', [restore, '--noflush'], {
        input: `*nat\n-A PREROUTING -d ${vip} -p tcp --dport 80 -j DNAT --to-destination ${target}\nCOMMIT\n`,
      });
      t.match((await lab.http('client', vip, 80))[0], { ok: true, pod: 'web-1' }, `${family}: answered via node1 at once`);
      await lab.exec('node1', [family === 'IPv4' ? 'iptables' : 'ip6tables', '-t', 'nat', '-F']);
    }
  });

  t.test('a second client address for source-range tests', async (t) => {
    const ip = lab.podIp('web-1');
    const second = lab.clientIp('client', 'IPv4', 1);
    t.equal(second, '192.168.50.101');
    t.match((await lab.http('client', ip, 8080, { sourceAddress: second }))[0], { ok: true, clientIp: second });
    t.match((await lab.http('client', ip, 8080))[0], { ok: true, clientIp: '192.168.50.100' }, 'the first one by default');
    t.match((await lab.udp('client', ip, 5353, { sourceAddress: second }))[0], { ok: true, clientIp: second });
    const v6 = lab.clientIp('client', 'IPv6', 1);
    t.match((await lab.http('client', lab.podIp('web-1', 'IPv6'), 8080, { sourceAddress: v6 }))[0], { ok: true, clientIp: v6 });
  });

  t.test('hundreds of requests', async (t) => {
    const started = performance.now();
    const results = await lab.http('client', lab.podIp('web-3'), 8080, { count: 300 });
    const ms = Math.round(performance.now() - started);
    t.same(summarize(results).byPod, { 'web-3': 300 });
    t.comment(`300 HTTP requests (a new connection each) from client to a pod on node2: ${ms} ms`);
    const udpStarted = performance.now();
    const udp = await lab.udp('client', lab.podIp('web-1'), 5353, { count: 300 });
    t.same(countByPod(udp), { 'web-1': 300 });
    t.comment(`300 UDP datagrams: ${Math.round(performance.now() - udpStarted)} ms`);
  });

  t.test('hundreds of refusals stay refusals (ICMP errors are not rate limited)', async (t) => {
    const closedUdp = await lab.udp('client', lab.podIp('web-1'), 5999, { count: 200 });
    t.same(summarize(closedUdp).byError, { refused: 200 }, 'a closed UDP port in a pod');
    await lab.exec('node1', ['iptables', '-I', 'FORWARD', '-d', lab.podIp('web-1'), '-p', 'tcp', '--dport', '8080', '-j', 'REJECT']);
    await lab.exec('node1', ['ip6tables', '-I', 'FORWARD', '-d', lab.podIp('web-1', 'IPv6'), '-p', 'tcp', '--dport', '8080', '-j', 'REJECT']);
    for (const family of ['IPv4', 'IPv6'] as const) {
      const rejected = await lab.http('client', lab.podIp('web-1', family), 8080, { count: 200 });
      t.same(summarize(rejected).byError, { refused: 200 }, `REJECT on the node, ${family}`);
    }
    await lab.exec('node1', ['iptables', '-F', 'FORWARD']);
    await lab.exec('node1', ['ip6tables', '-F', 'FORWARD']);
  });

  t.test('backends stop and start; pods go and come back', async (t) => {
    await lab.stopBackend('web-2');
    t.match((await lab.http('client', lab.podIp('web-2'), 8080))[0], { ok: false, error: 'refused' });
    await lab.startBackend('web-2');
    t.match((await lab.http('client', lab.podIp('web-2'), 8080))[0], { ok: true, pod: 'web-2' });

    const slow = lab.http('client', lab.podIp('web-2'), 8080, { path: '/?delay=3000', timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 300));
    await lab.stopBackend('web-2');
    t.match((await slow)[0], { ok: false, error: 'reset', phase: 'response' }, 'open connections are cut when the backend stops');
    await lab.startBackend('web-2', { tcpPorts: [8081] });
    t.match((await lab.http('client', lab.podIp('web-2'), 8081))[0], { ok: true, pod: 'web-2' }, 'on other ports');

    const netns = lab.netns('web-2');
    await lab.removePod('web-2');
    t.notOk(listNetns().includes(netns), 'namespace removed');
    t.throws(() => lab.pod('web-2'));
    t.match((await lab.http('client', '10.244.1.3', 8081))[0], { ok: false, error: 'unreachable' }, 'its address is gone');
    const again = await lab.addPod({ name: 'web-2', tcpPorts: [8080] });
    t.not(again.ip, '10.244.1.3', 'a new pod gets a fresh address');
    t.match((await lab.http('node2', again.ip, 8080))[0], { ok: true, pod: 'web-2' });
    const fixed = await lab.addPod({ name: 'fixed', node: 'node2', ip: '10.244.2.77', serve: false });
    t.same(fixed.ips, { IPv4: '10.244.2.77', IPv6: 'fd00:10:244:2::3' });
    t.match((await lab.http('client', fixed.ip, 8080))[0], { ok: false, error: 'refused' }, 'not serving yet');
    await lab.startBackend('fixed');
    t.match((await lab.waitForHttp('client', fixed.ip, 8080)), { ok: true, pod: 'fixed' });
  });

  t.test('bad pods are refused and leave nothing behind', async (t) => {
    const before = labNamespaces(lab).length;
    await t.rejects(lab.addPod({ name: 'web-1' }), /already taken/);
    await t.rejects(lab.addPod({ name: 'x', node: 'node7' }), /no node/);
    await t.rejects(lab.addPod({ name: 'Bad_Name' }), /DNS label/);
    await t.rejects(lab.addPod({ name: 'dup-port', tcpPorts: [8080, 8080] }), /EADDRINUSE/);
    t.equal(labNamespaces(lab).length, before, 'a pod whose backend failed was removed again');
    t.throws(() => lab.pod('dup-port'));
  });

  t.test('exec and spawn run inside the namespace', async (t) => {
    const routes = await lab.exec('node2', ['ip', '-4', 'route', 'show']);
    t.match(routes.stdout, /10\.244\.1\.0\/24 via 192\.168\.50\.11/);
    const forwarding = await lab.exec('node1', ['sysctl', '-n', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']);
    t.equal(forwarding.stdout, '1\n1\n');
    const clientForwarding = await lab.exec('client', ['sysctl', '-n', 'net.ipv4.ip_forward']);
    t.equal(clientForwarding.stdout, readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), 'clients keep the defaults');
    await t.rejects(lab.exec('node1', ['false']), /exited with 1/);
    t.equal((await lab.exec('node1', ['false'], { allowFailure: true })).code, 1);
    t.equal((await lab.exec('node1', ['cat'], { input: 'hello' })).stdout, 'hello');

    const proc = lab.spawn('node1', ['sh', '-c', 'echo starting; ip -o -4 addr show dev eth0; exec sleep 600']);
    const line = await proc.waitForOutput(/inet /);
    t.match(line, /192\.168\.50\.11\/24/);
    t.ok(proc.running);
    const exit = await proc.stop();
    t.same(exit, { code: null, signal: 'SIGTERM' });
    t.notOk(proc.running);
    const early = lab.spawn('node1', ['sh', '-c', 'echo bye; exit 3']);
    await t.rejects(early.waitForOutput('never printed'), /exited before/);
    t.same(early.exitStatus, { code: 3, signal: null });
  });
});

t.test('labs side by side do not interfere', async (t) => {
  const [a, b] = await Promise.all([Lab.create({ families: ['IPv4'] }), Lab.create({ families: ['IPv4'] })]);
  t.teardown(() => Promise.all([a.destroy(), b.destroy()]));
  t.not(a.id, b.id);
  await Promise.all([a.addPod({ name: 'p' }), b.addPod({ name: 'p' })]);
  t.equal(a.podIp('p'), b.podIp('p'), 'the same addresses, in separate namespaces');
  await b.stopBackend('p');
  const [fromA] = await a.http('client', a.podIp('p'), 8080);
  t.match(fromA, { ok: true, pod: 'p' }, `lab a still answers: ${JSON.stringify(fromA)}`);
  const [fromB] = await b.http('client', b.podIp('p'), 8080);
  t.match(fromB, { ok: false, error: 'refused' }, `lab b refuses: ${JSON.stringify(fromB)}`);
  t.throws(() => a.podIp('p', 'IPv6'), /no IPv6/);
});

t.test('a lab that fails to build removes what it made', async (t) => {
  const mine = () => listNetns().filter((n) => n.startsWith(`kplab-${process.pid}-`));
  const before = mine();
  // The service CIDR overlapping the LAN makes the client's route collide with its on-link route.
  await t.rejects(Lab.create({ serviceCidrs: { IPv4: '192.168.50.0/24' }, families: ['IPv4'] }), /File exists/);
  t.same(mine(), before);
});

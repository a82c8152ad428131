// IPVS mode's data plane with real packets, fast enough for every CI run: the proxier runs in this
// test process and programs node1 of a VM lab (netlink, ipset and iptables inside node1's
// namespace), without starting the CLI, whose start costs minutes under TCG. The scenarios that
// only IPVS has live here: graceful termination, the scheduler choice, persistence for ClientIP
// affinity. Runs only inside the VM lab (npm run test:vm); the proxy-process scenarios are the
// other ipvs-*.test.ts files.
import t, { type Test } from 'tap';
import { Lab, countByPod, summarize, type HttpResult, type PodInfo } from '../../../src/lab/index.js';
import { listIpvsDestinations, listIpvsServices, probeIpvs } from '../../../src/kernel/netlink.js';
import { ChangeTracker } from '../../../src/model/tracker.js';
import type { EndpointSlice, Service } from '../../../src/model/k8s.js';
import type { IpvsRuleConfig } from '../../../src/modes/ipvs/desired.js';
import { nodePortIPs } from '../../../src/modes/ipvs/addresses.js';
import { realIpvsKernel } from '../../../src/modes/ipvs/kernel.js';
import { IpvsProxier } from '../../../src/modes/ipvs/proxier.js';
import { silentLogger } from '../../../src/util/log.js';
import { run } from '../../../src/kernel/exec.js';

const scale = Number(process.env['KPT_LAB_TIME_SCALE'] ?? '5');
// tap's default per-file limit (.taprc: 10 minutes) is too short on a busy host.
t.setTimeout(30 * 60_000);
const skip = (await probeIpvs().catch(() => ({ available: false }))).available ? false : 'this kernel has no IPVS';

/** node1's proxier, driven by a tracker this test feeds directly. */
class Node1 {
  readonly tracker = new ChangeTracker({ nodeName: 'node1' });
  scheduler = 'rr';
  readonly proxier: IpvsProxier;

  constructor(readonly lab: Lab) {
    const netns = lab.netns('node1');
    this.tracker.setNode({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' }, status: { addresses: [{ type: 'InternalIP', address: lab.nodeIp('node1') }] } });
    this.proxier = new IpvsProxier({
      family: 'IPv4',
      kernel: realIpvsKernel('IPv4', 'default', { netns }),
      ruleConfig: (node, nodeAddresses): IpvsRuleConfig => ({
        family: 'IPv4',
        scheduler: this.scheduler,
        masqueradeMark: '0x00004000',
        masqueradeAll: false,
        localDetector: { kind: 'cidr', cidr: lab.topology.clusterCidrs.IPv4! },
        randomFully: true,
        nodeIP: lab.nodeIp('node1'),
        nodePortIPs: nodePortIPs({ matchAll: true }, nodeAddresses),
        nodeAddresses: new Set(nodeAddresses),
        topology: { nodeName: node.name, zone: node.zone },
        preferSameNode: true,
      }),
      excludeCIDRs: [],
      strictARP: false,
      timeouts: { tcp: 0, tcpFin: 0, udp: 0 },
      syncPeriodMs: 30_000,
      gracefulCheckIntervalMs: 1000,
      log: silentLogger,
    });
  }

  async sync(): Promise<void> {
    const c = this.tracker.checkout();
    await this.proxier.sync({ snapshot: c.snapshot.families.IPv4, node: c.snapshot.node, changedServices: c.changedServices, forceFullSync: false });
  }

  /** A Service plus one EndpointSlice of `pods`, then a sync. */
  async serve(name: string, spec: Service['spec'], pods: readonly PodInfo[]): Promise<void> {
    this.tracker.upsertService({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name }, spec });
    const slice: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: 'default', name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: pods.map((p) => ({ addresses: [p.ips.IPv4!], nodeName: p.node, conditions: { ready: true } })),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    };
    this.tracker.upsertEndpointSlice(slice);
    await this.sync();
  }
}

const HTTP = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const }];
const pods = (results: readonly HttpResult[]): string[] => Object.keys(countByPod(results)).sort();

async function eventually<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, withinMs = 20_000 * scale): Promise<T> {
  const end = Date.now() + withinMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

t.test('IPVS data plane in a VM lab node', { skip }, async (t) => {
  const lab = await Lab.create({ nodes: 2, families: ['IPv4'], timeScale: scale });
  t.teardown(() => lab.destroy());
  const node1 = new Node1(lab);
  t.teardown(() => node1.proxier.stop());
  const netns = lab.netns('node1');
  await node1.proxier.setup();
  const [a, b, c] = await lab.addPods([{ name: 'web-1', node: 'node1' }, { name: 'web-2', node: 'node2' }, { name: 'web-3', node: 'node1' }]);
  const client = await lab.addPod({ name: 'cl', node: 'node1', tcpPorts: [], serve: false });

  await t.test('ClusterIP: balanced, pod sources kept; NodePort: masqueraded', async (t: Test) => {
    const vip = lab.serviceIp(10);
    await node1.serve('web', { type: 'NodePort', clusterIP: vip, ports: [{ ...HTTP[0]!, nodePort: 30010 }] }, [a!, b!]);
    const r = await eventually('both pods behind the ClusterIP', () => lab.http('cl', vip, 80, { count: 30 }), (x) => pods(x).join() === 'web-1,web-2' && summarize(x).ok === 30);
    t.ok(r.every((x) => x.ok && x.clientIp === client.ips.IPv4), 'backends see the client pod (no masquerade)');
    const np = await eventually('NodePort answers', () => lab.http('client', lab.nodeIp('node1'), 30010, { count: 20 }), (x) => summarize(x).ok === 20 && pods(x).length === 2);
    t.ok(np.every((x) => x.ok && x.clientIp !== lab.clientIp('client')), 'NodePort traffic is masqueraded');
    const listed = await run(['ip', 'netns', 'exec', netns, 'ipset', 'list', 'KUBE-CLUSTER-IP']);
    t.match(listed.stdout, new RegExp(`${vip.replace(/\./g, '\\.')},tcp:80`), 'KUBE-CLUSTER-IP holds the service');
    const addr = await run(['ip', '-n', netns, '-o', 'addr', 'show', 'dev', 'kube-ipvs0']);
    t.match(addr.stdout, new RegExp(`inet ${vip.replace(/\./g, '\\.')}/32`), 'the ClusterIP is bound to kube-ipvs0');
  });

  await t.test('graceful termination: weight 0 while a connection is open, removal after it closes', async (t: Test) => {
    const vip = lab.serviceIp(11);
    await node1.serve('gt', { clusterIP: vip, ports: HTTP }, [a!, c!]);
    await eventually('both pods answer', () => lab.http('cl', vip, 80, { count: 20 }), (x) => pods(x).join() === 'web-1,web-3');
    // One keep-alive connection: a first request says which pod it reached, a second one is held
    // open by the backend; SIGUSR2 ends the connection with a reset (IPVS state CLOSE, 10 s).
    const holder = lab.spawn('cl', [
      process.execPath,
      '-e',
      `const s = require('node:net').connect(80, ${JSON.stringify(vip)}, () => s.write('GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'));
       let buf = '', asked = false;
       s.on('data', (d) => { buf += d; const m = /"pod":"([^"]+)"/.exec(buf);
         if (m && !asked) { asked = true; console.log('pod=' + m[1]); s.write('GET /?delay=600000 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'); } });
       s.on('error', (e) => { console.error(e.message); process.exit(1); });
       process.on('SIGUSR2', () => { s.resetAndDestroy(); setTimeout(() => process.exit(0), 200); });`,
    ]);
    t.teardown(() => holder.signal('SIGKILL'));
    const held = (await holder.waitForOutput(/pod=(\S+)/, 30_000 * scale)).match(/pod=(\S+)/)![1]!;
    const [gone, stays] = held === 'web-1' ? [a!, c!] : [c!, a!];
    await node1.serve('gt', { clusterIP: vip, ports: HTTP }, [stays]);

    const service = { family: 2 as const, protocol: 6, address: vip, port: 80 };
    const draining = (await listIpvsDestinations(service, { netns })).find((d) => d.address === gone.ips.IPv4);
    t.match(draining, { weight: 0 }, `${gone.name} stays as a real server with weight 0`);
    t.ok((draining?.activeConnections ?? 0) + (draining?.inactiveConnections ?? 0) >= 1, 'its connection is still counted');
    const meanwhile = await lab.http('cl', vip, 80, { count: 20 });
    t.same(pods(meanwhile), [stays.name], 'new connections avoid the draining real server');

    holder.signal('SIGUSR2');
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    // IPVS's own view of the connection decides how long draining lasts (CLOSE: 10 s, SYN_RECV or TIME_WAIT: up to 2 min).
    t.comment((await run(['ip', 'netns', 'exec', netns, 'ipvsadm', '-Lnc'])).stdout.trim());
    await eventually('the drained real server to be deleted', () => listIpvsDestinations(service, { netns }), (list) => !list.some((d) => d.address === gone.ips.IPv4), 60_000 * scale);
    t.pass(`deleted ${((Date.now() - started) / 1000).toFixed(1)} s after the connection was reset`);
    t.equal(node1.proxier.graceful.size, 0, 'nothing left draining');
  });

  await t.test('persistence for ClientIP affinity, then the sh scheduler', async (t: Test) => {
    const vip = lab.serviceIp(12);
    await node1.serve('aff', { clusterIP: vip, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: HTTP }, [a!, b!, c!]);
    const vs = (await listIpvsServices({ netns })).find((s) => s.address === vip);
    t.ok(vs && vs.flags & 0x1, 'the virtual server is persistent');
    t.equal(vs?.timeout, 60, 'with the affinity timeout');
    const sticky = await eventually('affinity answers', () => lab.http('cl', vip, 80, { count: 20, concurrency: 1 }), (x) => summarize(x).ok === 20);
    t.equal(pods(sticky).length, 1, `20 connections from one client reach one backend (${pods(sticky).join()})`);

    const spread = lab.serviceIp(13);
    await node1.serve('sched', { clusterIP: spread, ports: HTTP }, [a!, b!, c!]);
    await eventually('rr spreads', () => lab.http('cl', spread, 80, { count: 30 }), (x) => pods(x).length === 3);
    node1.scheduler = 'sh';
    await node1.sync();
    t.equal((await listIpvsServices({ netns })).find((s) => s.address === spread)?.scheduler, 'sh', 'the virtual server was edited to sh');
    const hashed = await lab.http('cl', spread, 80, { count: 20 });
    t.equal(pods(hashed).length, 1, `source hashing sends one client to one backend (${pods(hashed).join()})`);
  });
});

import t from 'tap';
import type {
  AddressInfo,
  AddressOperation,
  BatchResults,
  IpvsDestinationInfo,
  IpvsOperation,
  IpvsServiceInfo,
  IpvsServiceKey,
} from '../../src/kernel/netlink.js';
import { canonicalIP, joinHostPort } from '../../src/model/ip.js';
import { ChangeTracker } from '../../src/model/tracker.js';
import { FLAG_HASHED, type IpvsRuleConfig } from '../../src/modes/ipvs/desired.js';
import type { IpvsKernel } from '../../src/modes/ipvs/kernel.js';
import { parseIpsetSave } from '../../src/modes/ipvs/ipset-restore.js';
import { IpvsProxier } from '../../src/modes/ipvs/proxier.js';
import { ProxyMetrics } from '../../src/server/metrics.js';
import { silentLogger } from '../../src/util/log.js';
import type { EndpointSliceEndpoint } from '../../src/model/k8s.js';
import { service, slice, p80 } from '../support/unit/model-fixtures.js';

const PROTO: Record<number, string> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };
const vsKey = (s: IpvsServiceKey): string => `${joinHostPort(canonicalIP(s.address!)!, s.port!)}/${PROTO[s.protocol!]}`;

/** An in-memory kernel: IPVS, kube-ipvs0's addresses, ipsets and the last iptables-restore input. */
class FakeKernel implements IpvsKernel {
  readonly services = new Map<string, { info: IpvsServiceInfo; dests: Map<string, IpvsDestinationInfo> }>();
  readonly links = new Map<string, number>([['eth0', 2]]);
  addresses: AddressInfo[] = [{ index: 2, family: 2, address: '192.168.0.2', prefixLen: 24, scope: 0, flags: 0 }];
  ipsetText = '';
  iptables: string[] = [];
  readonly sysctls = new Map<string, number>();
  readonly log: string[] = [];
  listings = 0;
  failOp: ((o: IpvsOperation) => boolean) | undefined;
  failIptables = false;

  async listServices(): Promise<IpvsServiceInfo[]> {
    return [...this.services.values()].map((s) => ({ ...s.info, flags: (s.info.flags ?? 0) | FLAG_HASHED }));
  }
  async listDestinations(service: IpvsServiceKey): Promise<IpvsDestinationInfo[]> {
    this.listings++;
    const s = this.services.get(vsKey(service));
    if (!s) throw Object.assign(new Error('no such service'), { code: 'ESRCH' });
    return [...s.dests.values()].map((d) => ({ ...d }));
  }
  async applyIpvs(ops: readonly IpvsOperation[]): Promise<BatchResults> {
    const results = ops.map((o) => {
      this.log.push(o.op);
      if (this.failOp?.(o)) return { ok: false as const, errno: 22, code: 'EINVAL', message: 'refused' };
      if (o.op === 'addService') {
        this.services.set(vsKey(o.service), { info: { family: 2, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32, ...o.service } as IpvsServiceInfo, dests: new Map() });
      } else if (o.op === 'editService') {
        const s = this.services.get(vsKey(o.service))!;
        s.info = { ...s.info, ...o.service } as IpvsServiceInfo;
      } else if (o.op === 'deleteService') this.services.delete(vsKey(o.service));
      else if (o.op === 'addDestination' || o.op === 'editDestination') {
        const dests = this.services.get(vsKey(o.service))!.dests;
        const key = joinHostPort(o.destination.address, o.destination.port);
        const prev = dests.get(key);
        dests.set(key, { family: 2, address: o.destination.address, port: o.destination.port, fwdMethod: 0, weight: o.destination.weight ?? 1, upperThreshold: 0, lowerThreshold: 0, activeConnections: prev?.activeConnections ?? 0, inactiveConnections: prev?.inactiveConnections ?? 0, persistentConnections: 0 });
      } else if (o.op === 'deleteDestination') this.services.get(vsKey(o.service))?.dests.delete(joinHostPort(o.destination.address, o.destination.port));
      return { ok: true as const };
    });
    return { results, sendmsgCalls: 1 };
  }
  async setTimeouts(): Promise<void> {}
  async ensureDummyDevice(): Promise<number> {
    if (!this.links.has('kube-ipvs0')) this.links.set('kube-ipvs0', 9);
    return 9;
  }
  async listAddresses(): Promise<AddressInfo[]> {
    return this.addresses.map((a) => ({ ...a }));
  }
  async applyAddresses(ops: readonly AddressOperation[]): Promise<BatchResults> {
    for (const o of ops) {
      if (o.op === 'add') this.addresses.push({ index: 9, family: 2, address: o.address, prefixLen: o.prefixLen, scope: 0, flags: 0 });
      else this.addresses = this.addresses.filter((a) => !(a.index === 9 && a.address === o.address));
      this.log.push(`addr ${o.op} ${o.address}`);
    }
    return { results: ops.map(() => ({ ok: true as const })), sendmsgCalls: 1 };
  }
  async ipsetSave(): Promise<string> {
    return this.ipsetText;
  }
  async ipsetRestore(script: string): Promise<void> {
    this.log.push('ipset restore');
    const sets = parseIpsetSave(this.ipsetText);
    for (const line of script.trim().split('\n')) {
      const [verb, name, ...rest] = line.split(' ');
      if (verb === 'create') sets.set(name!, { type: rest[0]!, entries: new Set() });
      else if (verb === 'add') (sets.get(name!)!.entries as Set<string>).add(rest[0]!);
      else if (verb === 'del') (sets.get(name!)!.entries as Set<string>).delete(rest[0]!);
    }
    this.ipsetText = [...sets].map(([n, s]) => [`create ${n} ${s.type}`, ...[...s.entries].map((e) => `add ${n} ${e}`)].join('\n')).join('\n');
  }
  async iptablesRestore(text: string): Promise<void> {
    if (this.failIptables) throw new Error('iptables-restore: line 3 failed');
    this.iptables.push(text);
  }
  async ensureChain(): Promise<void> {}
  async ensureRulePrepended(): Promise<void> {}
  async writeSysctl(name: string, value: number): Promise<void> {
    this.sysctls.set(name, value);
  }
  kernelRelease(): string {
    return '6.1.0-57-amd64';
  }
  entries(set: string): string[] {
    return [...(parseIpsetSave(this.ipsetText).get(set)?.entries ?? [])].sort();
  }
  dests(key: string): IpvsDestinationInfo[] {
    return [...(this.services.get(key)?.dests.values() ?? [])];
  }
}

const ruleConfig = (_node: unknown, nodeAddresses: readonly string[]): IpvsRuleConfig => ({
  family: 'IPv4',
  scheduler: 'rr',
  masqueradeMark: '0x4000',
  masqueradeAll: false,
  localDetector: { kind: 'cidr', cidr: '10.0.0.0/8' },
  randomFully: false,
  nodeIP: '192.168.0.2',
  nodePortIPs: [...nodeAddresses],
  nodeAddresses: new Set(nodeAddresses),
  topology: { nodeName: 'test-node', zone: '' },
  preferSameNode: true,
});

function world(opts: { excludeCIDRs?: string[]; requestSync?: () => void; syncPeriodMs?: number } = {}) {
  const kernel = new FakeKernel();
  const metrics = new ProxyMetrics({ processMetrics: false, mode: 'ipvs' });
  const proxier = new IpvsProxier({
    family: 'IPv4',
    kernel,
    ruleConfig,
    excludeCIDRs: opts.excludeCIDRs ?? [],
    strictARP: true,
    timeouts: { tcp: 0, tcpFin: 0, udp: 0 },
    syncPeriodMs: opts.syncPeriodMs ?? 30_000,
    gracefulCheckIntervalMs: 0,
    log: silentLogger,
    metrics,
    ...(opts.requestSync ? { requestSync: opts.requestSync } : {}),
  });
  const tracker = new ChangeTracker({ nodeName: 'test-node' });
  const sync = async (force = false) => {
    const c = tracker.checkout();
    return proxier.sync({ snapshot: c.snapshot.families.IPv4, node: c.snapshot.node, changedServices: c.changedServices, forceFullSync: force });
  };
  return { kernel, proxier, tracker, sync, metrics };
}

const eps = (...ips: string[]): EndpointSliceEndpoint[] => ips.map((ip) => ({ addresses: [ip] }));

t.test('setup writes the IPVS sysctls (strict ARP on request) and creates kube-ipvs0', async (t) => {
  const w = world();
  await w.proxier.setup();
  t.same(Object.fromEntries(w.kernel.sysctls), {
    'net/ipv4/vs/conntrack': 1,
    'net/ipv4/vs/expire_nodest_conn': 1,
    'net/ipv4/vs/expire_quiescent_template': 1,
    'net/ipv4/ip_forward': 1,
    'net/ipv4/conf/all/arp_ignore': 1,
    'net/ipv4/conf/all/arp_announce': 2,
  });
  t.ok(w.kernel.links.has('kube-ipvs0'));
});

t.test('a first sync programs everything; an unchanged second sync changes nothing', async (t) => {
  const w = world();
  await w.proxier.setup();
  w.tracker.upsertService(service('ns', 'web', { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ ...p80[0]!, nodePort: 30080 }] }));
  w.tracker.upsertEndpointSlice(slice('ns', 'web', 'a', eps('10.1.0.1', '10.1.0.2')));
  const first = await w.sync();
  t.equal(first.full, true);
  t.same([...w.kernel.services.keys()].sort(), ['10.96.0.10:80/TCP', '192.168.0.2:30080/TCP']);
  t.same(w.kernel.dests('10.96.0.10:80/TCP').map((d) => `${d.address}:${d.port}/${d.weight}`), ['10.1.0.1:80/1', '10.1.0.2:80/1']);
  t.same(w.kernel.addresses.filter((a) => a.index === 9).map((a) => a.address), ['10.96.0.10'], 'only the ClusterIP is bound; the node IP is not');
  t.same(w.kernel.entries('KUBE-CLUSTER-IP'), ['10.96.0.10,tcp:80']);
  t.same(w.kernel.entries('KUBE-NODE-PORT-TCP'), ['30080']);
  t.match(w.kernel.iptables.at(-1), /^\*nat\n/);

  w.kernel.log.length = 0;
  const second = await w.sync();
  t.equal(second.full, false);
  t.same(w.kernel.log, [], 'no IPVS, address or ipset change when nothing changed');
  t.equal(w.proxier.lastStats?.destinationsListed, 0, 'a partial sync without changes lists no real servers');
});

t.test('partial syncs list only the changed services real servers', async (t) => {
  const w = world();
  await w.proxier.setup();
  for (const n of [1, 2, 3]) {
    w.tracker.upsertService(service('ns', `s${n}`, { clusterIP: `10.96.0.${n}`, ports: p80 }));
    w.tracker.upsertEndpointSlice(slice('ns', `s${n}`, `s${n}-a`, eps(`10.1.0.${n}`)));
  }
  await w.sync();
  w.tracker.upsertEndpointSlice(slice('ns', 's2', 's2-a', eps('10.1.0.2', '10.1.0.22')));
  w.kernel.listings = 0;
  await w.sync();
  t.equal(w.kernel.listings, 1);
  t.same(w.kernel.dests('10.96.0.2:80/TCP').map((d) => d.address).sort(), ['10.1.0.2', '10.1.0.22']);
  t.same(w.kernel.log.filter((l) => l !== 'ipset restore').slice(-1), ['addDestination']);
});

t.test('graceful termination: a TCP real server with connections drains at weight 0, goes when idle, comes back when wanted', async (t) => {
  const w = world();
  await w.proxier.setup();
  w.tracker.upsertService(service('ns', 'web', { clusterIP: '10.96.0.10', ports: p80 }));
  w.tracker.upsertEndpointSlice(slice('ns', 'web', 'a', eps('10.1.0.1', '10.1.0.2')));
  await w.sync();
  w.kernel.services.get('10.96.0.10:80/TCP')!.dests.get('10.1.0.2:80')!.activeConnections = 1;

  w.tracker.upsertEndpointSlice(slice('ns', 'web', 'a', eps('10.1.0.1')));
  await w.sync();
  t.same(w.kernel.dests('10.96.0.10:80/TCP').map((d) => `${d.address}/${d.weight}`), ['10.1.0.1/1', '10.1.0.2/0'], 'weight 0 while a connection is open');
  t.equal(w.proxier.graceful.size, 1);
  await w.proxier.checkDraining();
  t.equal(w.kernel.dests('10.96.0.10:80/TCP').length, 2, 'still there while the connection lasts');

  w.tracker.upsertEndpointSlice(slice('ns', 'web', 'a', eps('10.1.0.1', '10.1.0.2')));
  await w.sync();
  t.same(w.kernel.dests('10.96.0.10:80/TCP').map((d) => `${d.address}/${d.weight}`), ['10.1.0.1/1', '10.1.0.2/1'], 'back to weight 1 when it reappears');
  t.equal(w.proxier.graceful.size, 0);

  w.tracker.upsertEndpointSlice(slice('ns', 'web', 'a', eps('10.1.0.1')));
  await w.sync();
  t.equal(w.proxier.graceful.size, 1);
  const rs = w.kernel.services.get('10.96.0.10:80/TCP')!.dests.get('10.1.0.2:80')!;
  rs.activeConnections = 0;
  rs.inactiveConnections = 1;
  await w.proxier.checkDraining();
  t.equal(w.kernel.dests('10.96.0.10:80/TCP').length, 2, 'inactive connections (TIME_WAIT, CLOSE) count too');
  rs.inactiveConnections = 0;
  await w.proxier.checkDraining();
  t.same(w.kernel.dests('10.96.0.10:80/TCP').map((d) => d.address), ['10.1.0.1'], 'deleted once drained');
  t.equal(w.proxier.graceful.size, 0);
});

t.test('UDP real servers and idle TCP ones are deleted at once', async (t) => {
  const w = world();
  await w.proxier.setup();
  const dns = [{ name: 'dns', port: 53, protocol: 'UDP' }];
  w.tracker.upsertService(service('ns', 'dns', { clusterIP: '10.96.0.53', ports: dns }));
  w.tracker.upsertEndpointSlice(slice('ns', 'dns', 'a', eps('10.1.0.1', '10.1.0.2'), dns));
  await w.sync();
  w.kernel.services.get('10.96.0.53:53/UDP')!.dests.get('10.1.0.2:53')!.activeConnections = 3;
  w.tracker.upsertEndpointSlice(slice('ns', 'dns', 'a', eps('10.1.0.1'), dns));
  await w.sync();
  t.same(w.kernel.dests('10.96.0.53:53/UDP').map((d) => d.address), ['10.1.0.1']);
  t.equal(w.proxier.graceful.size, 0);
});

t.test('a deleted service loses its virtual servers and addresses; other families and excluded CIDRs are left alone', async (t) => {
  const w = world({ excludeCIDRs: ['10.200.0.0/16'] });
  await w.proxier.setup();
  await w.kernel.applyIpvs([
    { op: 'addService', service: { family: 2, protocol: 6, address: '10.200.0.1', port: 80, scheduler: 'rr' } },
    { op: 'addService', service: { family: 2, protocol: 6, address: '10.97.0.1', port: 80, scheduler: 'rr' } },
  ]);
  w.kernel.services.set('[fd00::1]:80/TCP', { info: { family: 10, protocol: 6, address: 'fd00::1', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 128 }, dests: new Map() });
  w.tracker.upsertService(service('ns', 'web', { clusterIP: '10.96.0.10', ports: p80 }));
  await w.sync();
  t.same([...w.kernel.services.keys()].sort(), ['10.200.0.1:80/TCP', '10.96.0.10:80/TCP', '[fd00::1]:80/TCP'], 'a stray virtual server of ours is deleted');
  w.tracker.deleteService('ns/web');
  await w.sync();
  t.same([...w.kernel.services.keys()].sort(), ['10.200.0.1:80/TCP', '[fd00::1]:80/TCP']);
  t.same(w.kernel.addresses.filter((a) => a.index === 9), []);
  t.same(w.kernel.entries('KUBE-CLUSTER-IP'), []);
});

t.test('session affinity changes edit the virtual server in place', async (t) => {
  const w = world();
  await w.proxier.setup();
  w.tracker.upsertService(service('ns', 'aff', { clusterIP: '10.96.0.22', ports: p80 }));
  await w.sync();
  w.tracker.upsertService(service('ns', 'aff', { clusterIP: '10.96.0.22', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 30 } }, ports: p80 }));
  w.kernel.log.length = 0;
  await w.sync();
  t.match(w.kernel.services.get('10.96.0.22:80/TCP')!.info, { flags: 1, timeout: 30 });
  t.ok(w.kernel.log.includes('editService') && !w.kernel.log.includes('deleteService'), 'edited, not recreated');
});

t.test('a refused IPVS operation is logged and retried by a full sync a syncPeriod later', async (t) => {
  let requested = 0;
  const w = world({ requestSync: () => requested++, syncPeriodMs: 20 });
  await w.proxier.setup();
  w.kernel.failOp = (o) => o.op === 'addDestination';
  w.tracker.upsertService(service('ns', 'web', { clusterIP: '10.96.0.10', ports: p80 }));
  w.tracker.upsertEndpointSlice(slice('ns', 'web', 'a', eps('10.1.0.1')));
  await w.sync();
  t.equal(w.proxier.lastStats?.failedOperations, 1);
  await new Promise((r) => setTimeout(r, 60));
  t.equal(requested, 1, 'a retry was requested');
  w.kernel.failOp = undefined;
  const again = await w.sync();
  t.equal(again.full, true);
  t.same(w.kernel.dests('10.96.0.10:80/TCP').map((d) => d.address), ['10.1.0.1']);
});

t.test('a failed iptables-restore fails the sync, counts, and makes the next sync full', async (t) => {
  const w = world();
  await w.proxier.setup();
  w.tracker.upsertService(service('ns', 'web', { clusterIP: '10.96.0.10', ports: p80 }));
  await w.sync();
  w.kernel.failIptables = true;
  w.tracker.upsertService(service('ns', 'web2', { clusterIP: '10.96.0.11', ports: p80 }));
  await t.rejects(w.sync(), /iptables-restore/);
  t.match(await w.metrics.registry.getSingleMetricAsString('kubeproxy_sync_proxy_rules_iptables_restore_failures_total'), /ip_family="IPv4"} 1/);
  w.kernel.failIptables = false;
  t.equal((await w.sync()).full, true);
});

/**
 * IPVS mode sync cost: a full sync and a one-endpoint change at 1k and 10k services x 10 endpoints,
 * in a scratch namespace with a node address (so the NodePort tenth gets node-IP virtual servers).
 * The kernel needs IPVS, so `npm run bench:ipvs` runs this inside the VM lab: the figures come
 * from a TCG-emulated VM and compare only with other figures from that VM, never with the host's.
 */
import { execFileSync } from 'node:child_process';
import { release } from 'node:os';
import { probeIpvs } from '../src/kernel/netlink.js';
import { nodePortIPs } from '../src/modes/ipvs/addresses.js';
import type { IpvsRuleConfig } from '../src/modes/ipvs/desired.js';
import { realIpvsKernel } from '../src/modes/ipvs/kernel.js';
import { IpvsProxier } from '../src/modes/ipvs/proxier.js';
import type { SyncRequest } from '../src/sync/proxier.js';
import type { Checkout } from '../src/model/snapshot.js';
import { silentLogger } from '../src/util/log.js';
import { withNetns } from './netns.js';
import { buildWorkload, changeOneEndpoint, peakRssMiB, type WorkloadSize } from './workload.js';

const SIZES: WorkloadSize[] = (process.env.BENCH_SIZES ?? '1000x10,10000x10').split(',').map((s) => {
  const [services, endpoints] = s.split('x').map(Number);
  return { services: services!, endpointsPerService: endpoints! };
});
const NODE_IP = '192.168.50.11';
const ms = (x: number): string => x.toFixed(1).padStart(9);

const config = (nodeName: string, zone: string, nodeAddresses: readonly string[]): IpvsRuleConfig => ({
  family: 'IPv4',
  scheduler: 'rr',
  masqueradeMark: '0x00004000',
  masqueradeAll: false,
  localDetector: { kind: 'cidr', cidr: '10.64.0.0/10' },
  randomFully: true,
  nodeIP: NODE_IP,
  nodePortIPs: nodePortIPs({ matchAll: true }, nodeAddresses),
  nodeAddresses: new Set(nodeAddresses),
  topology: { nodeName, zone },
  preferSameNode: true,
});

const request = (c: Checkout, forceFullSync = false): SyncRequest => ({
  snapshot: c.snapshot.families.IPv4,
  node: c.snapshot.node,
  changedServices: c.changedServices,
  forceFullSync,
});

async function measure(size: WorkloadSize): Promise<string[]> {
  return withNetns(`ipvs-${size.services}`, async (netns) => {
    // A node address for NodePort virtual servers, on a link of its own.
    execFileSync('ip', ['-n', netns, 'link', 'add', 'eth0', 'type', 'dummy']);
    execFileSync('ip', ['-n', netns, 'addr', 'add', `${NODE_IP}/24`, 'dev', 'eth0']);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    const t0 = performance.now();
    const { tracker, checkout } = buildWorkload(size);
    const modelMs = performance.now() - t0;
    const proxier = new IpvsProxier({
      family: 'IPv4',
      kernel: realIpvsKernel('IPv4', 'default', { netns }),
      ruleConfig: (node, addresses) => config(node.name, node.zone, addresses),
      excludeCIDRs: [],
      strictARP: false,
      timeouts: { tcp: 0, tcpFin: 0, udp: 0 },
      syncPeriodMs: 30_000,
      gracefulCheckIntervalMs: 0,
      log: silentLogger,
    });
    await proxier.setup();
    const label = `${size.services} x ${size.endpointsPerService}`;
    const rows: string[] = [];
    const full0 = performance.now();
    const full = await proxier.sync(request(checkout));
    const fullMs = performance.now() - full0;
    const st = proxier.lastStats!;
    rows.push(`| ${label} | full sync (first) | ${ms(full.generateMs)} | ${ms(full.applyMs)} | ${ms(fullMs)} | ${st.virtualServers} VS, ${st.ipvsOperations} IPVS ops, ${st.addressesBound} addresses, ${st.ipsetChanges} ipset changes |`);

    const partials: number[] = [];
    let last = full;
    for (let g = 1; g <= 5; g++) {
      const c = changeOneEndpoint(tracker, size, g);
      const p0 = performance.now();
      last = await proxier.sync(request(c));
      partials.push(performance.now() - p0);
    }
    partials.sort((a, b) => a - b);
    const median = partials[2]!;
    const ps = proxier.lastStats!;
    rows.push(`| ${label} | one endpoint changed (median of 5) | ${ms(last.generateMs)} | ${ms(last.applyMs)} | ${ms(median)} | ${ps.ipvsOperations} IPVS ops, ${ps.destinationsListed} real-server listings |`);

    const noop = tracker.checkout();
    const n0 = performance.now();
    const none = await proxier.sync(request(noop));
    rows.push(`| ${label} | no change | ${ms(none.generateMs)} | ${ms(none.applyMs)} | ${ms(performance.now() - n0)} | ${proxier.lastStats!.ipvsOperations} IPVS ops |`);

    const f0 = performance.now();
    const forced = await proxier.sync(request(noop, true));
    const fs = proxier.lastStats!;
    rows.push(`| ${label} | full resync over existing state | ${ms(forced.generateMs)} | ${ms(forced.applyMs)} | ${ms(performance.now() - f0)} | ${fs.ipvsOperations} IPVS ops, ${fs.destinationsListed} real-server listings |`);
    rows.push(`| ${label} | (model: objects -> snapshot ${modelMs.toFixed(0)} ms; full / one-endpoint = ${(fullMs / median).toFixed(0)}x) | | | | |`);
    await proxier.stop();
    return rows;
  });
}

if (!(await probeIpvs().catch(() => ({ available: false }))).available) {
  process.stderr.write('this kernel has no IPVS: run `npm run bench:ipvs`, which runs this benchmark inside the VM lab\n');
  process.exit(2);
}
const where = process.env['KPT_VM'] === '1' ? 'inside the TCG-emulated VM lab (compare only with figures from that VM)' : 'on this machine';
const out = [
  `IPVS sync benchmark, kernel ${release()}, ${where}`,
  '',
  '| workload | sync | generate ms | apply ms | total ms | work |',
  '|---|---|---:|---:|---:|---|',
];
for (const size of SIZES) {
  out.push(...(await measure(size)));
  process.stderr.write(`${out.slice(-5).join('\n')}\n`);
}
out.push('', `peak RSS: ${peakRssMiB()} MiB (whole benchmark process)`);
process.stdout.write(`${out.join('\n')}\n`);

/**
 * nftables mode sync cost, both appliers, against iptables mode on the same workload, in one run:
 * a full sync and a one-endpoint change at 1k and 10k services x 10 endpoints, each in a fresh
 * scratch namespace, split into generation and kernel apply; for nftables also the hourly full
 * resync over the table it made. iptables mode is measured as its generator
 * (generateIptablesRules) plus iptables-restore, without the proxier's iptables-save.
 * Run: npm run bench:nftables   (BENCH_SIZES=1000x10 for a quick run)
 */
import { Iptables } from '../src/kernel/iptables.js';
import { isNativeNetlinkAvailable } from '../src/kernel/netlink.js';
import type { Checkout } from '../src/model/snapshot.js';
import { ChainNames } from '../src/modes/iptables/naming.js';
import { generateIptablesRules, type IptablesRuleConfig } from '../src/modes/iptables/rules.js';
import { netlinkApplier } from '../src/modes/nftables/applier-netlink.js';
import { nftCommandApplier } from '../src/modes/nftables/applier-nft.js';
import type { NftablesApplier } from '../src/modes/nftables/applier.js';
import { NftablesProxier } from '../src/modes/nftables/proxier.js';
import type { NftablesRuleConfig } from '../src/modes/nftables/service-rules.js';
import { silentLogger } from '../src/util/log.js';
import { withNetns } from './netns.js';
import { buildWorkload, changeOneEndpoint, peakRssMiB, type WorkloadSize } from './workload.js';

const SIZES: WorkloadSize[] = (process.env.BENCH_SIZES ?? '1000x10,10000x10').split(',').map((s) => {
  const [services, endpoints] = s.split('x').map(Number);
  return { services: services!, endpointsPerService: endpoints! };
});
/** Partial syncs per measurement; the median is reported. */
const PARTIALS = 5;
const NODE_IP = '192.168.50.11';

const nftablesConfig = (nodeName: string, zone: string): NftablesRuleConfig => ({
  family: 'IPv4',
  masqueradeMark: 0x4000,
  masqueradeAll: false,
  localDetector: { kind: 'cidr', cidr: '10.64.0.0/10' },
  nodePortAddresses: { matchAll: false, ips: [NODE_IP] },
  nodeIP: NODE_IP,
  serviceCIDRs: ['10.96.0.0/16'],
  topology: { nodeName, zone },
  preferSameNode: true,
});

const iptablesConfig = (nodeName: string, zone: string): IptablesRuleConfig => ({
  family: 'IPv4',
  masqueradeMark: '0x00004000',
  masqueradeAll: false,
  localDetector: { kind: 'cidr', cidr: '10.64.0.0/10' },
  localhostNodePorts: false,
  nodePortAddresses: { matchAll: false, ips: [NODE_IP] },
  nodeIP: NODE_IP,
  randomFully: true,
  dropInvalid: true,
  topology: { nodeName, zone },
  preferSameNode: true,
});

interface Timing {
  generateMs: number;
  applyMs: number;
  totalMs: number;
}

interface Result {
  full: Timing;
  partial: Timing;
  /** A forced full sync over the table it made (the hourly resync); nftables only. */
  resync?: Timing;
}

const median = (xs: Timing[]): Timing => [...xs].sort((a, b) => a.totalMs - b.totalMs)[Math.floor(xs.length / 2)]!;

async function nftablesRun(size: WorkloadSize, applierName: 'nft' | 'netlink'): Promise<Result> {
  return withNetns(`nft-${applierName}-${size.services}`, async (netns) => {
    const { tracker, checkout } = buildWorkload(size);
    const applier: NftablesApplier = applierName === 'nft' ? nftCommandApplier({ netns }) : netlinkApplier({ netns });
    const proxier = new NftablesProxier({ family: 'IPv4', applier, ruleConfig: (n) => nftablesConfig(n.name, n.zone), log: silentLogger });
    const sync = async (c: Checkout): Promise<Timing> => {
      const t0 = performance.now();
      const r = await proxier.sync({ snapshot: c.snapshot.families.IPv4, node: c.snapshot.node, changedServices: c.changedServices, forceFullSync: false });
      return { generateMs: r.generateMs, applyMs: r.applyMs, totalMs: performance.now() - t0 };
    };
    const full = await sync(checkout);
    const partials: Timing[] = [];
    for (let g = 1; g <= PARTIALS; g++) partials.push(await sync(changeOneEndpoint(tracker, size, g)));
    const now = tracker.checkout();
    const r0 = performance.now();
    const r = await proxier.sync({ snapshot: now.snapshot.families.IPv4, node: now.snapshot.node, changedServices: new Set(), forceFullSync: true });
    const resync = { generateMs: r.generateMs, applyMs: r.applyMs, totalMs: performance.now() - r0 };
    return { full, partial: median(partials), resync };
  });
}

async function iptablesRun(size: WorkloadSize): Promise<Result> {
  return withNetns(`ipt-${size.services}`, async (netns) => {
    const { tracker, checkout } = buildWorkload(size);
    const ipt = new Iptables('IPv4', { netns });
    const names = new ChainNames();
    const sync = async (c: Checkout, full: boolean): Promise<Timing> => {
      const t0 = performance.now();
      const rules = generateIptablesRules({
        snapshot: c.snapshot.families.IPv4,
        config: iptablesConfig(c.snapshot.node.name, c.snapshot.node.zone),
        changedServices: full ? undefined : c.changedServices,
        existingNatChains: undefined,
        names,
      });
      const t1 = performance.now();
      await ipt.restore(rules.text);
      const t2 = performance.now();
      return { generateMs: t1 - t0, applyMs: t2 - t1, totalMs: t2 - t0 };
    };
    const full = await sync(checkout, true);
    const partials: Timing[] = [];
    for (let g = 1; g <= PARTIALS; g++) partials.push(await sync(changeOneEndpoint(tracker, size, g), false));
    return { full, partial: median(partials) };
  });
}

const ms = (x: number): string => x.toFixed(1);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(1)}x`;

const runners: Array<[string, (s: WorkloadSize) => Promise<Result>]> = [
  ...(isNativeNetlinkAvailable() ? ([['nftables, netlink applier', (s) => nftablesRun(s, 'netlink')]] as Array<[string, (s: WorkloadSize) => Promise<Result>]>) : []),
  ['nftables, nft applier', (s) => nftablesRun(s, 'nft')],
  ['iptables (restore)', iptablesRun],
];
if (!isNativeNetlinkAvailable()) process.stderr.write('native module unavailable: the netlink applier is not measured\n');

// Rows are printed as they are measured: a 10k-service iptables-restore can take many minutes.
process.stdout.write(
  '| workload | mode | full: generate | full: apply | full: total | 1 endpoint: generate | 1 endpoint: apply | 1 endpoint: total | full resync: total |\n' +
    '|---|---|---:|---:|---:|---:|---:|---:|---:|\n',
);
// Ctrl-C must still remove the scratch namespaces (withNetns cleans up on 'exit').
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
const reference = isNativeNetlinkAvailable() ? 'nftables, netlink applier' : 'nftables, nft applier';
const ratios: string[] = [];
for (const size of SIZES) {
  const label = `${size.services} x ${size.endpointsPerService}`;
  const results = new Map<string, Result>();
  for (const [name, run] of runners) {
    process.stderr.write(`${label}: ${name}...\n`);
    const r = await run(size);
    results.set(name, r);
    process.stdout.write(
      `| ${label} | ${name} | ${ms(r.full.generateMs)} | ${ms(r.full.applyMs)} | ${ms(r.full.totalMs)} | ${ms(r.partial.generateMs)} | ${ms(r.partial.applyMs)} | ${ms(r.partial.totalMs)} | ${r.resync ? ms(r.resync.totalMs) : 'not measured'} |\n`,
    );
  }
  const base = results.get(reference)!;
  for (const [name, r] of results) {
    if (name === reference) continue;
    ratios.push(`${label}: ${name} / ${reference}: full ${ratio(r.full.totalMs, base.full.totalMs)}, one endpoint ${ratio(r.partial.totalMs, base.partial.totalMs)}`);
  }
}
process.stdout.write(
  `\nRatios (total time relative to ${reference}; higher is slower):\n${ratios.map((r) => `- ${r}`).join('\n')}\n\n` +
    `All times in ms; one-endpoint rows are the median of ${PARTIALS} changes; peak RSS ${peakRssMiB()} MiB (whole process)\n`,
);

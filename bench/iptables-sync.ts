/**
 * iptables mode sync cost: full sync and a one-endpoint partial sync at 1k and 10k services x 10
 * endpoints, each split into rule generation and iptables-restore, in a scratch namespace.
 * Run: npm run bench:iptables  (figures go to the README's performance table).
 */
import { IptablesProxier } from '../src/modes/iptables/proxier.js';
import { realIptablesKernel } from '../src/modes/iptables/kernel.js';
import { PHASED_RESTORE_MAX_CHAINS } from '../src/modes/iptables/factory.js';
import { Iptables } from '../src/kernel/iptables.js';
import type { IptablesRuleConfig } from '../src/modes/iptables/rules.js';
import { silentLogger } from '../src/util/log.js';
import { buildWorkload, changeOneEndpoint, peakRssMiB, type WorkloadSize } from './workload.js';
import { withNetns } from './netns.js';

const SIZES: WorkloadSize[] = (process.env.BENCH_SIZES ?? '1000x10,10000x10').split(',').map((s) => {
  const [services, endpoints] = s.split('x').map(Number);
  return { services: services!, endpointsPerService: endpoints! };
});

const config = (nodeName: string, zone: string): IptablesRuleConfig => ({
  family: 'IPv4',
  masqueradeMark: '0x00004000',
  masqueradeAll: false,
  localDetector: { kind: 'cidr', cidr: '10.64.0.0/10' },
  localhostNodePorts: false,
  nodePortAddresses: { matchAll: true },
  nodeIP: '192.168.50.11',
  randomFully: true,
  dropInvalid: true,
  topology: { nodeName, zone },
  preferSameNode: true,
});

const BACKEND = (process.env.IPTABLES_BACKEND ?? 'default') as 'default' | 'nft' | 'legacy';
const ms = (x: number): string => x.toFixed(1).padStart(9);

async function measure(size: WorkloadSize, phased: boolean): Promise<string[]> {
  return withNetns(`ipt-${size.services}-${phased ? 'p' : 's'}`, async (netns) => {
    const t0 = performance.now();
    const { tracker, checkout } = buildWorkload(size);
    const modelMs = performance.now() - t0;
    const proxier = new IptablesProxier({
      family: 'IPv4',
      kernel: realIptablesKernel('IPv4', { netns }, BACKEND),
      ruleConfig: (node) => config(node.name, node.zone),
      syncPeriodMs: 30_000,
      log: silentLogger,
      canaryIntervalMs: 0,
      phasedRestoreMaxChains: phased ? PHASED_RESTORE_MAX_CHAINS : undefined,
    });
    await proxier.setup();
    const snap = checkout.snapshot;
    const full0 = performance.now();
    const full = await proxier.sync({ snapshot: snap.families.IPv4, node: snap.node, changedServices: checkout.changedServices, forceFullSync: false });
    const fullMs = performance.now() - full0;
    const rows: string[] = [];
    const label = `${size.services} x ${size.endpointsPerService}${phased ? ', phased restores' : ', one restore (upstream)'}`;
    rows.push(`| ${label} | full sync (first) | ${ms(full.generateMs)} | ${ms(full.applyMs)} | ${ms(fullMs)} |`);
    const partials: number[] = [];
    let last = full;
    for (let g = 1; g <= 5; g++) {
      const c = changeOneEndpoint(tracker, size, g);
      const p0 = performance.now();
      last = await proxier.sync({ snapshot: c.snapshot.families.IPv4, node: c.snapshot.node, changedServices: c.changedServices, forceFullSync: false });
      partials.push(performance.now() - p0);
    }
    partials.sort((a, b) => a - b);
    const median = partials[2]!;
    rows.push(`| ${label} | one endpoint changed (median of 5) | ${ms(last.generateMs)} | ${ms(last.applyMs)} | ${ms(median)} |`);
    const noop0 = performance.now();
    const noop = tracker.checkout();
    await proxier.sync({ snapshot: noop.snapshot.families.IPv4, node: noop.snapshot.node, changedServices: noop.changedServices, forceFullSync: false });
    rows.push(`| ${label} | no change | | | ${ms(performance.now() - noop0)} |`);
    const forced0 = performance.now();
    const forced = await proxier.sync({ snapshot: noop.snapshot.families.IPv4, node: noop.snapshot.node, changedServices: new Set(), forceFullSync: true });
    rows.push(`| ${label} | full resync over existing rules | ${ms(forced.generateMs)} | ${ms(forced.applyMs)} | ${ms(performance.now() - forced0)} |`);
    rows.push(`| ${label} | (model: objects -> snapshot ${modelMs.toFixed(0)} ms; full / partial = ${(fullMs / median).toFixed(0)}x) | | | |`);
    return rows;
  });
}

const nft = await new Iptables('IPv4', {}, BACKEND).isNftBackend();
const out = [`iptables backend: ${nft ? 'nf_tables (iptables-nft)' : 'legacy'}`, '', '| workload | sync | generate ms | apply ms | total ms |', '|---|---|---:|---:|---:|'];
for (const size of SIZES) {
  // Phased restores only exist for iptables-nft; upstream's single restore is the baseline.
  out.push(...(await measure(size, false)));
  if (nft) out.push(...(await measure(size, true)));
}
out.push('', `peak RSS: ${peakRssMiB()} MiB (whole benchmark process)`);
process.stdout.write(`${out.join('\n')}\n`);

// Phased restores (iptables-nft) must leave exactly the state one upstream-style restore leaves.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { generateIptablesRules, renderPhasedRestore, type IptablesRuleConfig } from '../../src/modes/iptables/rules.js';
import { ChainNames } from '../../src/modes/iptables/naming.js';
import { Iptables } from '../../src/kernel/iptables.js';
import { buildWorkload } from '../../bench/workload.js';

const config: IptablesRuleConfig = {
  family: 'IPv4',
  masqueradeMark: '0x00004000',
  masqueradeAll: false,
  localDetector: { kind: 'cidr', cidr: '10.64.0.0/10' },
  localhostNodePorts: false,
  nodePortAddresses: { matchAll: true },
  nodeIP: '192.168.50.11',
  randomFully: true,
  dropInvalid: true,
  topology: { nodeName: 'bench-node', zone: '' },
  preferSameNode: true,
};

function netns(t: { teardown(fn: () => void): void }, purpose: string): string {
  const name = `kpt-t-${process.pid}-${purpose}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.teardown(() => execFileSync('ip', ['netns', 'del', name]));
  return name;
}

/** The nat and filter tables without counters, sorted: order within restores differs by design. */
async function state(ipt: Iptables): Promise<string[]> {
  const save = await ipt.save();
  return save
    .split('\n')
    .filter((l) => l.startsWith('-A') || (l.startsWith(':KUBE') && !l.includes('CANARY')))
    .sort();
}

t.test('phased restore of 300 services equals one restore', async (t) => {
  const { checkout } = buildWorkload({ services: 300, endpointsPerService: 5 });
  const ruleSet = generateIptablesRules({
    snapshot: checkout.snapshot.families.IPv4,
    config,
    changedServices: undefined,
    existingNatChains: undefined,
    names: new ChainNames(),
  });
  const phased = renderPhasedRestore(ruleSet, 200);
  t.ok(phased.length > 5, `${phased.length} restores`);
  for (const text of phased.slice(0, -1)) {
    t.ok(text.split('\n').filter((l) => l.startsWith(':')).length <= 200, 'each batch stays within the chain budget');
    t.notMatch(text, /^-A KUBE-SERVICES /m, 'batches never touch the dispatch chain');
  }
  t.match(phased.at(-1)!, /^-A KUBE-SERVICES /m, 'the last restore switches dispatch over');

  const one = new Iptables('IPv4', { netns: netns(t, 'one') });
  const many = new Iptables('IPv4', { netns: netns(t, 'many') });
  await one.restore(ruleSet.text);
  await many.ensureChain('nat', 'KUBE-MARK-MASQ');
  for (const text of phased) await many.restore(text);
  t.same(await state(many), await state(one));
});

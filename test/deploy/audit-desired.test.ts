// The audit's desired state is the proxy's: the rule set the audit computes equals what the
// proxy prints with --dry-run for the same manifests and flags (the audit builds the rule
// configuration itself, see src/audit/iptables.ts). And the canonical rule form equates what
// iptables-save prints with what the generator writes.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { main, loadConfiguration } from '../../src/cli/app.js';
import { runtimeSettings } from '../../src/config/runtime.js';
import { startDesiredState } from '../../src/audit/desired-state.js';
import { desiredIptablesState } from '../../src/audit/iptables.js';
import { canonicalRuleArgs, parseIptablesDump, parseRuleLine } from '../../src/audit/iptables-canonical.js';
import { compareIptables } from '../../src/audit/iptables-compare.js';
import { createLogger } from '../../src/util/log.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const MANIFESTS = join(REPO, 'test/deploy/fixtures/manifests');

t.test('audit desired state == the proxy --dry-run output', async (t) => {
  const flags = [`--manifests=${MANIFESTS}`, '--hostname-override=node-a', '--cluster-cidr=10.244.0.0/16', '--iptables-backend=nft'];
  let out = '';
  t.equal(await main([...flags, '--dry-run', '--logging-format=json'], { stdout: (s) => void (out += s), stderr: () => {} }), 0);
  // The IPv4 restore input the dry run printed.
  const printed = out.split('# iptables-restore --noflush --counters <<EOF\n')[1]!.split('# EOF\n')[0]!;

  const loaded = await loadConfiguration(flags);
  if (loaded === 'help' || loaded === 'version') throw new Error('unexpected');
  const settings = runtimeSettings(loaded.config);
  const desired = await startDesiredState({ config: loaded.config, extra: loaded.extra, settings, log: createLogger({ level: 'silent' }) });
  const snapshot = await desired.current();
  await desired.stop();
  // --dry-run assumes MASQUERADE --random-fully is supported.
  const state = desiredIptablesState({ settings, family: 'IPv4', node: snapshot.node, snapshot: snapshot.families.IPv4 }, true);
  t.equal(state.ruleSet.text, printed, 'the same text, rule for rule');
  t.same(state.servicePorts, ['default/web:http']);
  t.equal(state.endpointChains.size, 2);
});

t.test('canonical form: iptables-save spellings equal the generator spellings', async (t) => {
  const same = (generated: string, saved: string) => t.equal(parseRuleLine(saved)!.canonical, parseRuleLine(generated)!.canonical, saved);
  same('-A KUBE-SERVICES -m comment --comment "ns/svc:p cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 80 -j KUBE-SVC-X', '-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "ns/svc:p cluster IP" -m tcp --dport 80 -j KUBE-SVC-X');
  same('-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000', '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000');
  same('-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000', '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0');
  same('-A KUBE-SVC-X -m comment --comment "a -> b" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-Y', '-A KUBE-SVC-X -m comment --comment "a -> b" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-Y');
  same('-A KUBE-SVC-X -m recent --name KUBE-SEP-Y --rcheck --seconds 10800 --reap -j KUBE-SEP-Y', '-A KUBE-SVC-X -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-Y --mask 255.255.255.255 --rsource -j KUBE-SEP-Y');
  same('-A KUBE-SERVICES -m comment --comment "x has no endpoints" -m tcp -p tcp -d fd00::1 --dport 80 -j REJECT', '-A KUBE-SERVICES -d fd00::1/128 -p tcp -m comment --comment "x has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp6-port-unreachable');
  same('-A KUBE-FIREWALL -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP', '-A KUBE-FIREWALL -m conntrack ! --ctstate ESTABLISHED,RELATED,DNAT -j DROP');
  const differ = (a: string, b: string) => t.not(parseRuleLine(a)!.canonical, parseRuleLine(b)!.canonical, `${a} vs ${b}`);
  differ('-A X -d 10.0.0.1 -j A', '-A X -d 10.0.0.2 -j A');
  differ('-A X -s 10.0.0.0/8 -j A', '-A X ! -s 10.0.0.0/8 -j A');
  differ('-A X -m statistic --mode random --probability 0.5 -j A', '-A X -m statistic --mode random --probability 0.25 -j A');
  differ('-A X -m comment --comment "a b" -j A', '-A X -m comment --comment "a c" -j A');
  t.equal(canonicalRuleArgs(['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES']), parseRuleLine('-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')!.canonical);
});

t.test('compare: order matters in load-balancing chains, not in dispatch chains; foreign chains are ignored', async (t) => {
  const desired = parseIptablesDump('*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-A - [0:0]\n-A KUBE-SERVICES -m comment --comment "ns/a:p cluster IP" -d 10.0.0.1 -j KUBE-SVC-A\n-A KUBE-SERVICES -m comment --comment "ns/b:p cluster IP" -d 10.0.0.2 -j KUBE-SVC-A\n-A KUBE-SVC-A -m statistic --mode random --probability 0.5 -j KUBE-SEP-1\n-A KUBE-SVC-A -j KUBE-SEP-2\nCOMMIT\n');
  const input = (save: string) => ({ family: 'IPv4' as const, desired, actual: parseIptablesDump(save), jumps: [], servicePorts: ['ns/a:p', 'ns/b:p'], chainOwners: new Map([['KUBE-SVC-A', 'ns/a:p']]), endpointChains: new Map() });
  const swappedDispatch = '*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-A - [0:0]\n:DOCKER - [0:0]\n-A DOCKER -j RETURN\n-A KUBE-SERVICES -d 10.0.0.2/32 -m comment --comment "ns/b:p cluster IP" -j KUBE-SVC-A\n-A KUBE-SERVICES -d 10.0.0.1/32 -m comment --comment "ns/a:p cluster IP" -j KUBE-SVC-A\n-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-1\n-A KUBE-SVC-A -j KUBE-SEP-2\nCOMMIT\n';
  const ok = compareIptables(input(swappedDispatch));
  t.same([ok.rules, ok.chains, ok.services], [{ missing: [], extra: [], misordered: [] }, { missing: [], extra: [] }, { missing: [], extra: [], drifted: [] }]);
  const swappedBalancing = swappedDispatch.replace('-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-1\n-A KUBE-SVC-A -j KUBE-SEP-2', '-A KUBE-SVC-A -j KUBE-SEP-2\n-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-1');
  t.same(compareIptables(input(swappedBalancing)).rules.misordered, ['nat KUBE-SVC-A (ns/a:p)']);
  const missingB = swappedDispatch.replace(/-A KUBE-SERVICES -d 10\.0\.0\.2.*\n/, '');
  const r = compareIptables(input(missingB));
  t.same(r.services.missing, ['ns/b:p'], 'a service without any of its rules is missing');
  t.equal(r.rules.missing.length, 1);
});

import t from 'tap';
import { loadScenario, matchGolden, scenarioNames } from '../golden/harness.js';
import { iptablesConfigFor } from '../golden/configs.js';
import { generateIptablesRules } from '../../src/modes/iptables/rules.js';
import { ChainNames } from '../../src/modes/iptables/naming.js';
import type { IPFamily } from '../../src/model/ip.js';

for (const name of scenarioNames()) {
  t.test(`iptables golden: ${name}`, async (t) => {
    const s = loadScenario(name);
    for (const family of s.config.families ?? (['IPv4'] as IPFamily[])) {
      const rules = generateIptablesRules({
        snapshot: s.checkout.snapshot.families[family],
        config: iptablesConfigFor(s, family),
        changedServices: undefined,
        existingNatChains: undefined,
        names: new ChainNames(),
      });
      const file = family === 'IPv4' ? 'iptables.txt' : 'ip6tables.txt';
      const g = matchGolden(s, file, rules.text);
      t.equal(g.actual, g.expected, `${file} matches ${g.path} (UPDATE_GOLDEN=1 to regenerate)`);
    }
  });
}

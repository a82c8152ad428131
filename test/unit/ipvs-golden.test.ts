import t from 'tap';
import { loadScenario, matchGolden, scenarioNames } from '../golden/harness.js';
import { ipvsConfigFor } from '../golden/configs.js';
import { buildIpvsDesiredState } from '../../src/modes/ipvs/desired.js';
import { generateIpvsIptablesRules } from '../../src/modes/ipvs/iptables-rules.js';
import { formatDesiredState } from '../../src/modes/ipvs/render.js';
import type { IPFamily } from '../../src/model/ip.js';

// Per scenario and family: IPVS mode's desired state (virtual and real servers, kube-ipvs0's
// addresses, ipset contents: ipvs.json) and its iptables-restore input (ipvs-iptables.txt).
// UPDATE_GOLDEN=1 rewrites them; review the diff.
for (const name of scenarioNames()) {
  t.test(`ipvs golden: ${name}`, async (t) => {
    const s = loadScenario(name);
    for (const family of s.config.families ?? (['IPv4'] as IPFamily[])) {
      const config = ipvsConfigFor(s, family);
      const desired = buildIpvsDesiredState(s.checkout.snapshot.families[family], config);
      const v6 = family === 'IPv6';
      const state = matchGolden(s, v6 ? 'ipvs.ip6.json' : 'ipvs.json', formatDesiredState(desired));
      t.equal(state.actual, state.expected, `${state.path} matches (UPDATE_GOLDEN=1 to regenerate)`);
      const rules = matchGolden(s, v6 ? 'ipvs-ip6tables.txt' : 'ipvs-iptables.txt', generateIpvsIptablesRules(desired, config).text);
      t.equal(rules.actual, rules.expected, `${rules.path} matches (UPDATE_GOLDEN=1 to regenerate)`);
    }
  });
}

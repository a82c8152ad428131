import t from 'tap';
import { loadScenario, matchGolden, scenarioNames } from '../golden/harness.js';
import { nftablesConfigFor } from '../golden/configs.js';
import { buildSyncPlan, emptyAppliedState } from '../../src/modes/nftables/ruleset.js';
import { NftablesNames } from '../../src/modes/nftables/naming.js';
import { FakeNftables } from '../../src/modes/nftables/fake.js';
import { formatDocument } from '../../src/modes/nftables/render.js';
import type { IPFamily } from '../../src/model/ip.js';

// Per scenario and family: the first full sync's transaction (nftables.json, what both appliers
// send) and the rule set it leaves in the table (nftables.nft, `nft -f` input in upstream's
// test format). UPDATE_GOLDEN=1 rewrites them; review the diff.
for (const name of scenarioNames()) {
  t.test(`nftables golden: ${name}`, async (t) => {
    const s = loadScenario(name);
    for (const family of s.config.families ?? (['IPv4'] as IPFamily[])) {
      const plan = buildSyncPlan({
        snapshot: s.checkout.snapshot.families[family],
        config: nftablesConfigFor(s, family),
        names: new NftablesNames(),
        applied: emptyAppliedState(),
        full: true,
        firstSync: false,
        changedServices: new Set(),
        now: 0,
      });
      const fake = new FakeNftables();
      fake.apply(plan.document);
      const suffix = family === 'IPv4' ? '' : '.ip6';
      const json = matchGolden(s, `nftables${suffix}.json`, formatDocument(plan.document));
      t.equal(json.actual, json.expected, `${json.path} matches (UPDATE_GOLDEN=1 to regenerate)`);
      const text = matchGolden(s, `nftables${suffix}.nft`, fake.dump(family === 'IPv4' ? 'ip' : 'ip6', 'kube-proxy'));
      t.equal(text.actual, text.expected, `${text.path} matches (UPDATE_GOLDEN=1 to regenerate)`);
    }
  });
}

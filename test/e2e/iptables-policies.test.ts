import t from 'tap';
import { World } from '../support/e2e/world.js';
import { POLICY_SCENARIOS, runScenarios } from '../support/e2e/scenarios.js';
import { iptablesChecks } from '../support/e2e/mode-checks.js';

t.test('iptables mode: traffic policies, affinity, terminating endpoints', async (t) => {
  const world = await World.create(t, { mode: 'iptables' });
  await runScenarios(t, world, POLICY_SCENARIOS, iptablesChecks);
});

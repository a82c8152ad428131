import t from 'tap';
import { World } from '../support/e2e/world.js';
import { LIFECYCLE_SCENARIOS, runScenarios } from '../support/e2e/scenarios.js';
import { iptablesChecks } from '../support/e2e/mode-checks.js';

t.test('iptables mode: live changes, bad input, restart, cleanup', async (t) => {
  const world = await World.create(t, { mode: 'iptables' });
  await runScenarios(t, world, LIFECYCLE_SCENARIOS, iptablesChecks);
});

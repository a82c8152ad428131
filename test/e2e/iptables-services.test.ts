import t from 'tap';
import { World } from '../support/e2e/world.js';
import { runScenarios, SERVICE_SCENARIOS } from '../support/e2e/scenarios.js';
import { iptablesChecks } from '../support/e2e/mode-checks.js';

t.test('iptables mode: service types with real traffic', async (t) => {
  const world = await World.create(t, { mode: 'iptables' });
  await runScenarios(t, world, SERVICE_SCENARIOS, iptablesChecks);
});

// IPVS mode with real traffic inside the VM lab (npm run test:vm): live endpoint changes, bad
// input, a restart without outage, and --cleanup.
import t from 'tap';
import { World } from '../../support/e2e/world.js';
import { LIFECYCLE_SCENARIOS, runScenarios } from '../../support/e2e/scenarios.js';
import { ipvsChecks } from '../../support/e2e/mode-checks.js';

// Under TCG the proxy alone needs minutes to start (loading its modules); the lab stretches its deadlines.
process.env['KPT_LAB_TIME_SCALE'] ??= '10';
// tap's default per-file limit (.taprc: 10 minutes) is too short for proxy starts under TCG.
t.setTimeout(45 * 60_000);

t.test('ipvs mode: live changes, bad input, restart, cleanup', async (t) => {
  const world = await World.create(t, { mode: 'ipvs' });
  await runScenarios(t, world, LIFECYCLE_SCENARIOS, ipvsChecks);
});

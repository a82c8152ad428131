import t from 'tap';
import { World } from '../support/e2e/world.js';
import { LIFECYCLE_SCENARIOS, POLICY_SCENARIOS, runScenarios, SERVICE_SCENARIOS } from '../support/e2e/scenarios.js';
import { nftablesChecks } from '../support/e2e/mode-checks.js';

// nftables mode with the native netlink batch applier; nftables-nft.test.ts runs the
// same scenarios through the nft binary.
const APPLIER = ['--nftables-applier=netlink'];

t.test('nftables mode (netlink applier): service types with real traffic', async (t) => {
  const world = await World.create(t, { mode: 'nftables', proxyArgs: APPLIER });
  await runScenarios(t, world, SERVICE_SCENARIOS, nftablesChecks);
});

t.test('nftables mode (netlink applier): traffic policies, affinity, terminating endpoints', async (t) => {
  const world = await World.create(t, { mode: 'nftables', proxyArgs: APPLIER });
  await runScenarios(t, world, POLICY_SCENARIOS, nftablesChecks);
});

t.test('nftables mode (netlink applier): live changes, bad input, restart, cleanup', async (t) => {
  const world = await World.create(t, { mode: 'nftables', proxyArgs: APPLIER });
  await runScenarios(t, world, LIFECYCLE_SCENARIOS, nftablesChecks);
});

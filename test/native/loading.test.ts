// Loading the addon, and what callers see when it cannot be loaded (they fall back to `nft`).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import t from 'tap';

import { isNativeNetlinkAvailable, nativeNetlinkStatus } from '../../src/kernel/netlink.js';

t.test('the addon loads and has the expected ABI', async (t) => {
  t.match(nativeNetlinkStatus(), { available: true, abiVersion: 3 });
  t.equal(isNativeNetlinkAvailable(), true);
});

t.test('a missing addon is reported, and calls reject with NativeNetlinkUnavailableError', async (t) => {
  const netlink = fileURLToPath(new URL('../../src/kernel/netlink.ts', import.meta.url));
  // A child process, so that the override is read on its first (and only) load.
  const program = `
    const nl = await import(${JSON.stringify(netlink)});
    const status = nl.nativeNetlinkStatus();
    const outcome = await nl.applyNftJson({ nftables: [] }).then(() => 'applied', (e) => e.name + ': ' + e.message);
    console.log(JSON.stringify({ status, outcome, fallback: nl.isNativeNetlinkAvailable() }));`;
  const child = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', program], {
    env: { ...process.env, KPT_NETLINK_ADDON: '/nonexistent/kpt_netlink.node' },
    encoding: 'utf8',
    timeout: 120000,
  });
  t.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as {
    status: { available: boolean; reason: string };
    outcome: string;
    fallback: boolean;
  };
  t.equal(result.status.available, false);
  t.match(result.status.reason, /cannot load the native netlink module/);
  t.match(result.outcome, /^NativeNetlinkUnavailableError: cannot load/);
  t.equal(result.fallback, false);
});

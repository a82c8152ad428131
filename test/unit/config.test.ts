import t from 'tap';
import { parseFlags, UsageError } from '../../src/cli/flags.js';
import { loadConfiguration } from '../../src/cli/app.js';
import { parseConfiguration, ConfigFileError } from '../../src/config/file.js';
import { validateConfiguration } from '../../src/config/validate.js';
import { defaultConfiguration } from '../../src/config/types.js';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { masqueradeMark } from '../../src/config/runtime.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

t.test('Go durations', async (t) => {
  t.equal(parseDuration('30s'), 30_000);
  t.equal(parseDuration('1m0s'), 60_000);
  t.equal(parseDuration('1h30m'), 5_400_000);
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('0'), 0);
  t.equal(parseDuration('1.5s'), 1500);
  t.equal(parseDuration('10'), undefined, 'a bare number needs a unit');
  t.equal(parseDuration('abc'), undefined);
  t.equal(formatDuration(30_000), '30s');
  t.equal(formatDuration(3_600_000), '1h0m0s');
  t.equal(formatDuration(90_000), '1m30s');
});

t.test('mark formatting follows Go %#08x', async (t) => {
  t.equal(masqueradeMark(14), '0x00004000');
});

t.test('flags: forms, unknown flags and bad values', async (t) => {
  const f = parseFlags(['--proxy-mode=iptables', '--masquerade-all', '--v', '4', '-v=2', '--nodeport-addresses', '10.0.0.0/8,primary', '--feature-gates=A=true,B=false']);
  t.equal(f.values.get('proxy-mode'), 'iptables');
  t.equal(f.values.get('masquerade-all'), true);
  t.equal(f.values.get('v'), 2, 'later flags win');
  t.same(f.values.get('nodeport-addresses'), ['10.0.0.0/8', 'primary']);
  t.same(f.values.get('feature-gates'), { A: true, B: false });
  t.throws(() => parseFlags(['--nope']), UsageError);
  t.throws(() => parseFlags(['--iptables-sync-period=5']), /expected a duration/);
  t.throws(() => parseFlags(['--kube-api-burst=x']), /expected an integer/);
  t.throws(() => parseFlags(['--masquerade-all=maybe']), /true or false/);
  t.throws(() => parseFlags(['--hostname-override']), /needs an argument/);
  t.throws(() => parseFlags(['stray']), /unexpected argument/);
  t.match(parseFlags(['--healthz-port=1234']).warnings[0], /deprecated/);
});

t.test('validation names the field', async (t) => {
  const c = defaultConfiguration();
  t.same(validateConfiguration(c), [], 'defaults are valid');
  c.iptables.masqueradeBit = 40;
  c.iptables.syncPeriod = '1s';
  c.iptables.minSyncPeriod = '2s';
  c.mode = 'userspace';
  c.clusterCIDR = '10.0.0.0/8,10.1.0.0/16';
  c.detectLocalMode = 'BridgeInterface';
  c.nodePortAddresses = ['10.0.0.0/8', 'bogus'];
  c.ipvs.scheduler = 'fastest';
  const fields = validateConfiguration(c).map((e) => e.field).sort();
  t.same(fields, ['clusterCIDR', 'detectLocal.bridgeInterface', 'ipvs.scheduler', 'iptables.masqueradeBit', 'iptables.syncPeriod', 'mode', 'nodePortAddresses[1]'].sort());
});

t.test('config file: upstream fields and defaults, unknown fields and wrong types refused', async (t) => {
  const good = parseConfiguration(
    'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\nclusterCIDR: 10.244.0.0/16\niptables:\n  minSyncPeriod: 2s\nfeatureGates:\n  Foo: true\n',
    'f',
  );
  t.equal(good.mode, 'nftables');
  t.equal(good.iptables.minSyncPeriod, '2s');
  t.equal(good.iptables.syncPeriod, '30s', 'defaults fill the rest');
  t.equal(good.metricsBindAddress, '127.0.0.1:10249');
  t.same(good.featureGates, { Foo: true });
  try {
    parseConfiguration('apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\niptables:\n  bogus: 1\nmode: 5\n', 'f');
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof ConfigFileError);
    t.same((err as ConfigFileError).errors.map((e) => e.field), ['iptables.bogus', 'mode']);
  }
  t.throws(() => parseConfiguration('kind: Other\n', 'f'), /apiVersion/);
});

t.test('flags override the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpt-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.yaml');
  writeFileSync(path, 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nhostnameOverride: from-file\nclusterCIDR: 10.0.0.0/8\n');
  const loaded = await loadConfiguration(['--config', path, '--hostname-override=from-flag']);
  if (typeof loaded === 'string') throw new Error('unexpected');
  t.equal(loaded.config.mode, 'ipvs', 'file value kept');
  t.equal(loaded.config.hostnameOverride, 'from-flag', 'flag wins');
  t.equal(loaded.config.clusterCIDR, '10.0.0.0/8');
  await t.rejects(loadConfiguration(['--config', join(dir, 'missing.yaml')]), ConfigFileError);
  await t.rejects(loadConfiguration(['--iptables-masquerade-bit=99']), /iptables.masqueradeBit/);
});

/**
 * Drop-in compatibility of the configuration: upstream's v1alpha1 defaults (as upstream's
 * --write-config-to writes them), kubeadm's ConfigMap with its zero values, every field upstream
 * writes accepted, unknown fields and bad values refused with the field named and exit code 2,
 * flags over the file (with a warning where upstream would ignore the flag), -v / --v.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfiguration, main, EXIT_USAGE, EXIT_OK } from '../../src/cli/app.js';
import { parseConfiguration, ConfigFileError } from '../../src/config/file.js';
import { configurationDocument } from '../../src/config/write.js';
import { validateConfiguration } from '../../src/config/validate.js';
import { defaultConfiguration } from '../../src/config/types.js';
import { parseFlags } from '../../src/cli/flags.js';

const HEAD = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n';

/** What upstream writes for a file with only apiVersion and kind (its v1alpha1 defaulting testdata). */
const UPSTREAM_DEFAULTS = {
  apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
  bindAddress: '0.0.0.0',
  bindAddressHardFail: false,
  clientConnection: { acceptContentTypes: '', burst: 10, contentType: 'application/vnd.kubernetes.protobuf', kubeconfig: '', qps: 5 },
  clusterCIDR: '',
  configSyncPeriod: '15m0s',
  conntrack: { maxPerCore: 32768, min: 131072, tcpBeLiberal: false, tcpCloseWaitTimeout: '1h0m0s', tcpEstablishedTimeout: '24h0m0s', udpStreamTimeout: '0s', udpTimeout: '0s' },
  detectLocal: { bridgeInterface: '', interfaceNamePrefix: '' },
  detectLocalMode: '',
  enableProfiling: false,
  healthzBindAddress: '0.0.0.0:10256',
  hostnameOverride: '',
  iptables: { localhostNodePorts: true, masqueradeAll: false, masqueradeBit: 14, minSyncPeriod: '1s', syncPeriod: '30s' },
  ipvs: { excludeCIDRs: null, minSyncPeriod: '0s', scheduler: '', strictARP: false, syncPeriod: '30s', tcpFinTimeout: '0s', tcpTimeout: '0s', udpTimeout: '0s' },
  kind: 'KubeProxyConfiguration',
  logging: { flushFrequency: '5s', format: 'text', options: { json: { infoBufferSize: '0' }, text: { infoBufferSize: '0' } }, verbosity: 0 },
  metricsBindAddress: '127.0.0.1:10249',
  mode: '',
  nftables: { masqueradeAll: false, masqueradeBit: 14, minSyncPeriod: '1s', syncPeriod: '30s' },
  nodePortAddresses: null,
  oomScoreAdj: -999,
  portRange: '',
  showHiddenMetricsForVersion: '',
  winkernel: { enableDSR: false, forwardHealthCheckVip: false, networkName: '', rootHnsEndpointName: '', sourceVip: '' },
};

/** The ConfigMap kubeadm writes (zero values mean "default" upstream). */
const KUBEADM = `${HEAD}bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection:
  acceptContentTypes: ""
  burst: 0
  contentType: ""
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  qps: 0
clusterCIDR: 10.244.0.0/16
configSyncPeriod: 0s
conntrack:
  maxPerCore: null
  min: null
  tcpBeLiberal: false
  tcpCloseWaitTimeout: null
  tcpEstablishedTimeout: null
  udpStreamTimeout: 0s
  udpTimeout: 0s
detectLocal:
  bridgeInterface: ""
  interfaceNamePrefix: ""
detectLocalMode: ""
enableProfiling: false
healthzBindAddress: ""
hostnameOverride: ""
iptables:
  localhostNodePorts: null
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  strictARP: false
  syncPeriod: 0s
  tcpFinTimeout: 0s
  tcpTimeout: 0s
  udpTimeout: 0s
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
    text:
      infoBufferSize: "0"
  verbosity: 0
metricsBindAddress: ""
mode: ""
nftables:
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
nodePortAddresses: null
oomScoreAdj: null
portRange: ""
showHiddenMetricsForVersion: ""
winkernel:
  enableDSR: false
  forwardHealthCheckVip: false
  networkName: ""
  rootHnsEndpointName: ""
  sourceVip: ""
`;

const TEMP = mkdtempSync(join(tmpdir(), 'kpt-config-compat-'));
t.teardown(() => rmSync(TEMP, { recursive: true, force: true }));
let files = 0;

function tempFile(name: string, text: string): string {
  const path = join(TEMP, `${++files}-${name}`);
  writeFileSync(path, text);
  return path;
}

function capture(): { io: { stdout: (s: string) => void; stderr: (s: string) => void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { stdout: (s) => (out += s), stderr: (s) => (err += s) }, out: () => out, err: () => err };
}

t.test("upstream's defaults, in upstream's --write-config-to shape", async (t) => {
  t.same(configurationDocument(parseConfiguration(HEAD, 'f')), UPSTREAM_DEFAULTS);
  t.same(Object.keys(configurationDocument(defaultConfiguration())), Object.keys(UPSTREAM_DEFAULTS), 'keys sorted as Go writes them; featureGates/windowsRunAsService omitted when empty');
});

t.test("kubeadm's ConfigMap: every field known, zero values become upstream's defaults", async (t) => {
  const c = parseConfiguration(KUBEADM, 'kubeadm.conf');
  t.same(validateConfiguration(c), [], 'valid');
  t.equal(c.iptables.syncPeriod, '30s', 'syncPeriod 0s -> 30s');
  t.equal(c.iptables.minSyncPeriod, '1s', 'minSyncPeriod 0s -> 1s (upstream quirk: an explicit 0 cannot be set in the file)');
  t.equal(c.nftables.minSyncPeriod, '1s');
  t.equal(c.ipvs.syncPeriod, '30s');
  t.equal(c.ipvs.minSyncPeriod, '0s', 'ipvs.minSyncPeriod has no default: 0 stays');
  t.equal(c.clientConnection.qps, 5);
  t.equal(c.clientConnection.burst, 10);
  t.equal(c.clientConnection.contentType, 'application/vnd.kubernetes.protobuf');
  t.equal(c.configSyncPeriod, '15m0s');
  t.equal(c.healthzBindAddress, '0.0.0.0:10256');
  t.equal(c.metricsBindAddress, '127.0.0.1:10249');
  t.equal(c.iptables.masqueradeBit, 14, 'null pointer fields keep the default');
  t.equal(c.oomScoreAdj, -999);
  t.equal(c.conntrack.maxPerCore, 32768);
  t.equal(c.logging.flushFrequency, '5s');
  t.equal(c.clientConnection.kubeconfig, '/var/lib/kube-proxy/kubeconfig.conf');
});

t.test('bind addresses: IPv6 defaults and ports appended as upstream does', async (t) => {
  const v6 = parseConfiguration(`${HEAD}bindAddress: "::"\n`, 'f');
  t.equal(v6.healthzBindAddress, '[::]:10256');
  t.equal(v6.metricsBindAddress, '[::1]:10249');
  const bare = parseConfiguration(`${HEAD}healthzBindAddress: 10.0.0.1\nmetricsBindAddress: "fd00::1"\n`, 'f');
  t.equal(bare.healthzBindAddress, '10.0.0.1:10256', 'an IP without a port gets the default port');
  t.equal(bare.metricsBindAddress, '[fd00::1]:10249');
  const explicit = parseConfiguration(`${HEAD}iptables:\n  masqueradeBit: 0\nconntrack:\n  min: 0\n`, 'f');
  t.equal(explicit.iptables.masqueradeBit, 0, 'an explicit 0 in a pointer field stays 0');
  t.equal(explicit.conntrack.min, 0);
});

t.test('accepted as upstream: featureGates, logging.vmodule, winkernel, windowsRunAsService', async (t) => {
  const c = parseConfiguration(`${HEAD}featureGates:\n  NFTablesNetlink: true\n  Foo: false\nlogging:\n  vmodule:\n  - filePattern: proxier.go\n    verbosity: 4\nwinkernel:\n  enableDSR: true\nwindowsRunAsService: false\n`, 'f');
  t.same(c.featureGates, { NFTablesNetlink: true, Foo: false });
  t.same(c.logging.vmodule, [{ filePattern: 'proxier.go', verbosity: 4 }]);
  t.equal((c.winkernel as { enableDSR: boolean; rootHnsEndpointName: string }).enableDSR, true);
  t.equal((c.winkernel as { rootHnsEndpointName: string }).rootHnsEndpointName, '', 'the other winkernel defaults stay');
  t.throws(() => parseConfiguration(`${HEAD}featureGates:\n  Foo: yes-please\n`, 'f'), /featureGates\.Foo: must be true or false/);
});

t.test('unknown fields and wrong types name the field', async (t) => {
  const fields = (text: string): string[] => {
    try {
      parseConfiguration(text, 'f');
      return [];
    } catch (err) {
      return (err as ConfigFileError).errors.map((e) => e.field);
    }
  };
  t.same(fields(`${HEAD}iptable:\n  syncPeriod: 1s\n`), ['iptable'], 'a misspelt section');
  t.same(fields(`${HEAD}conntrack:\n  maxPerCpu: 1\n`), ['conntrack.maxPerCpu'], 'a nested unknown field');
  t.same(fields(`${HEAD}clientConnection:\n  qps: fast\n`), ['clientConnection.qps'], 'a string for a number');
  t.same(fields(`${HEAD}nodePortAddresses: 10.0.0.0/8\n`), ['nodePortAddresses'], 'a string for a list');
  t.same(fields(`apiVersion: kubeproxy.config.k8s.io/v1alpha2\nkind: KubeProxyConfiguration\n`), ['apiVersion']);
  t.same(fields(`${HEAD}mode: iptables\nmode: ipvs\n`), ['(document)'], 'duplicate keys are refused (strict decoding)');
});

t.test('bad values: the field is named and the exit code is 2', async (t) => {
  const cases: Array<[string, RegExp]> = [
    [`${HEAD}iptables:\n  masqueradeBit: 32\n`, /iptables\.masqueradeBit: must be within the range \[0, 31\]/],
    [`${HEAD}mode: userspace\n`, /mode: "userspace" is not a supported proxy mode/],
    [`${HEAD}iptables:\n  syncPeriod: 1s\n  minSyncPeriod: 5s\n`, /iptables\.syncPeriod: must be greater than or equal to iptables\.minSyncPeriod/],
    [`${HEAD}conntrack:\n  tcpEstablishedTimeout: forever\n`, /conntrack\.tcpEstablishedTimeout: "forever" is not a duration/],
    [`${HEAD}healthzBindAddress: "0.0.0.0:99999"\n`, /healthzBindAddress/],
    [`${HEAD}nodePortAddresses: [primary, 10.0.0.0/8]\n`, /nodePortAddresses\[0\]: "primary" must be the only entry/],
    [`${HEAD}portRange: 300-200\n`, /portRange/],
    [`${HEAD}clusterCIDR: 10.0.0.0/8,10.1.0.0/16\n`, /clusterCIDR: may contain at most one CIDR per IP family/],
    [`${HEAD}detectLocalMode: BridgeInterface\n`, /detectLocal\.bridgeInterface: must be set/],
    [`${HEAD}oomScoreAdj: -1001\n`, /oomScoreAdj/],
  ];
  for (const [text, message] of cases) {
    const c = capture();
    const code = await main(['--config', tempFile('c.yaml', text)], c.io);
    t.equal(code, EXIT_USAGE, `exit 2 for ${message}`);
    t.match(c.err(), message);
  }
  const unknown = capture();
  t.equal(await main(['--config', tempFile('c.yaml', `${HEAD}bogus: 1\n`)], unknown.io), EXIT_USAGE);
  t.match(unknown.err(), /bogus: unknown field/);
});

t.test('flags override the file; a warning names flags upstream would ignore next to --config', async (t) => {
  const path = tempFile('c.yaml', `${HEAD}mode: ipvs\nhostnameOverride: from-file\nclusterCIDR: 10.0.0.0/8\niptables:\n  syncPeriod: 20s\n`);
  const loaded = await loadConfiguration(['--config', path, '--hostname-override=from-flag', '--iptables-sync-period=5s', '--v=3']);
  if (typeof loaded === 'string') throw new Error('unexpected');
  t.equal(loaded.config.mode, 'ipvs', 'file value kept');
  t.equal(loaded.config.hostnameOverride, 'from-flag');
  t.equal(loaded.config.iptables.syncPeriod, '5s');
  t.equal(loaded.config.logging.verbosity, 3);
  t.same(loaded.warnings, [`flag --iptables-sync-period overrides the configuration file ${path}; upstream kube-proxy would ignore it`], 'only the flag upstream ignores is warned about (--hostname-override and -v win upstream too)');
  const zero = await loadConfiguration(['--config', tempFile('c.yaml', HEAD), '--iptables-min-sync-period=0s']);
  if (typeof zero === 'string') throw new Error('unexpected');
  t.equal(zero.config.iptables.minSyncPeriod, '0s', 'a flag is taken literally: 0s stays 0s (the file default of 1s applies only to the file)');
});

t.test('--write-config-to writes the effective configuration in upstream shape', async (t) => {
  const path = tempFile('c.yaml', `${HEAD}mode: nftables\niptables:\n  syncPeriod: 0.5m\n`);
  const out = join(TEMP, 'written.yaml');
  const c = capture();
  t.equal(await main(['--config', path, '--cluster-cidr=10.244.0.0/16', '--write-config-to', out], c.io), EXIT_OK);
  const written = parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
  t.equal(written.mode, 'nftables');
  t.equal(written.clusterCIDR, '10.244.0.0/16', 'flags are included');
  t.equal((written.iptables as { syncPeriod: string }).syncPeriod, '30s', 'durations written as Go prints them');
  t.same(Object.keys(written), Object.keys(UPSTREAM_DEFAULTS));
  const again = parseConfiguration(readFileSync(out, 'utf8'), out);
  t.same(configurationDocument(again), written, 'the written file reads back to the same configuration');
});

t.test('-v and --v, in every form', async (t) => {
  for (const argv of [['-v', '4'], ['-v=4'], ['--v', '4'], ['--v=4']]) t.equal(parseFlags(argv).values.get('v'), 4, argv.join(' '));
});

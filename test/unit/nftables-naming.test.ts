import t from 'tap';
import { endpointChainNameBase, hashAndTruncate, isServiceChainName, servicePortChainNameBase } from '../../src/modes/nftables/naming.js';

// Vectors from upstream's TestOverallNFTablesRules (reference/upstream-kube-proxy.md §3.4).
t.test('service port chain names match upstream', async (t) => {
  t.equal(servicePortChainNameBase('ns1', 'svc1', 'TCP', 'p80'), 'ULMVA6XW-ns1/svc1/tcp/p80');
  t.equal(servicePortChainNameBase('ns2', 'svc2', 'TCP', 'p80'), '42NFTM6N-ns2/svc2/tcp/p80');
  t.equal(servicePortChainNameBase('ns3', 'svc3', 'TCP', 'p80'), '4AT6LBPK-ns3/svc3/tcp/p80');
  t.equal(servicePortChainNameBase('ns4', 'svc4', 'TCP', 'p80'), 'LAUZTJTB-ns4/svc4/tcp/p80');
  t.equal(servicePortChainNameBase('ns5', 'svc5', 'TCP', 'p80'), 'HVFWP5L3-ns5/svc5/tcp/p80');
});

t.test('endpoint chain names match upstream', async (t) => {
  t.equal(endpointChainNameBase('ns1', 'svc1', 'TCP', 'p80', '10.180.0.1', 80), '5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
  t.equal(endpointChainNameBase('ns2', 'svc2', 'TCP', 'p80', '10.180.0.2', 80), 'SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80');
  t.equal(endpointChainNameBase('ns3', 'svc3', 'TCP', 'p80', '10.180.0.3', 80), 'UEIP74TE-ns3/svc3/tcp/p80__10.180.0.3/80');
  t.equal(endpointChainNameBase('ns4', 'svc4', 'TCP', 'p80', '10.180.0.4', 80), 'UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80');
  t.equal(endpointChainNameBase('ns4', 'svc4', 'TCP', 'p80', '10.180.0.5', 80), '5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80');
  t.equal(endpointChainNameBase('ns5', 'svc5', 'TCP', 'p80', '10.180.0.3', 80), 'GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80');
});

t.test('IPv6 endpoints are written with dots; an unnamed port leaves an empty last part', async (t) => {
  const v6 = endpointChainNameBase('ns1', 'svc1', 'UDP', '', 'fd00:10:180::1', 53);
  t.match(v6, /^[A-Z2-7]{8}-ns1\/svc1\/udp\/__fd00\.10\.180\.\.1\/53$/);
  t.notOk(v6.includes(':'), 'no colons: they are not allowed in nftables names');
});

t.test('overlong names are cut to 240 characters ending in "..."', async (t) => {
  const long = hashAndTruncate(`${'n'.repeat(63)}/${'s'.repeat(63)}/sctp/${'p'.repeat(63)}__fd00.1.2.3.4.5.6.7/65535x${'y'.repeat(30)}`);
  t.equal(long.length, 240);
  t.ok(long.endsWith('...'));
  t.equal(hashAndTruncate('ns/svc/tcp/p').length, 8 + 1 + 'ns/svc/tcp/p'.length, 'short names are kept whole');
});

t.test('only per-service and per-endpoint chains contain a slash', async (t) => {
  t.ok(isServiceChainName('service-ULMVA6XW-ns1/svc1/tcp/p80'));
  for (const fixed of ['services', 'filter-input', 'reject-chain', 'mark-for-masquerade']) t.notOk(isServiceChainName(fixed), fixed);
});

import t from 'tap';
import { mergeSlices, parseEndpointSlice, type Endpoint } from '../../src/model/endpoint.js';
import { categorizeEndpoints } from '../../src/model/topology.js';
import { parseService, type ServicePort } from '../../src/model/service-port.js';
import { service, slice, p80 } from '../support/unit/model-fixtures.js';

const NODE = { nodeName: 'test-node', zone: 'zone-a' };
const OPTS = { preferSameNode: true };

function sp(spec: Record<string, unknown> = {}): ServicePort {
  const r = parseService(service('ns', 'svc', { clusterIP: '10.96.0.1', ports: p80, ...spec }));
  if (r.kind !== 'ports') throw new Error('bad fixture');
  return r.ports.IPv4[0]!;
}

function eps(list: Parameters<typeof slice>[3]): Endpoint[] {
  const r = parseEndpointSlice(slice('ns', 'svc', 'svc-1', list), 'test-node');
  if (r.kind !== 'slice') throw new Error('bad fixture');
  return mergeSlices([r.slice], 'IPv4').get('ns/svc:p80/TCP') ?? [];
}

const ips = (list: readonly Endpoint[]) => list.map((e) => e.ip);

t.test('conditions default to ready/serving; terminating must be explicit', async (t) => {
  const [a, b] = eps([{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'], conditions: { ready: false, serving: null, terminating: true } }]);
  t.match(a, { ready: true, serving: true, terminating: false, isLocal: false });
  t.match(b, { ready: false, serving: true, terminating: true });
});

t.test('isLocal compares nodeName; only addresses[0] is used; sorted by ip:port', async (t) => {
  const list = eps([{ addresses: ['10.0.0.9', '10.0.0.99'], nodeName: 'test-node' }, { addresses: ['10.0.0.10'] }]);
  t.same(list.map((e) => e.endpoint), ['10.0.0.10:80', '10.0.0.9:80'], 'string order, as upstream');
  t.ok(list[1]!.isLocal);
});

t.test('slices: missing service label ignored, FQDN ignored, bad address invalid, wrong family invalid', async (t) => {
  const noLabel = slice('ns', 'svc', 'x', [{ addresses: ['10.0.0.1'] }]);
  delete noLabel.metadata!.labels;
  t.equal(parseEndpointSlice(noLabel, 'n').kind, 'ignored');
  t.equal(parseEndpointSlice(slice('ns', 'svc', 'x', [], p80, 'FQDN'), 'n').kind, 'ignored');
  t.equal(parseEndpointSlice(slice('ns', 'svc', 'x', [{ addresses: ['10.0.0.x'] }]), 'n').kind, 'invalid');
  t.equal(parseEndpointSlice(slice('ns', 'svc', 'x', [{ addresses: ['fd00::1'] }]), 'n').kind, 'invalid');
  t.equal(parseEndpointSlice(slice('ns', 'svc', 'x', [{ addresses: ['10.0.0.1'] }], [{ name: 'p80', port: 0 }]), 'n').kind, 'invalid');
  t.equal(parseEndpointSlice(slice('ns', 'svc', 'x', Array.from({ length: 1001 }, (_, i) => ({ addresses: [`10.1.${i >> 8}.${i & 255}`] }))), 'n').kind, 'invalid');
});

t.test('a port with a null number yields no endpoints; ports match by name and protocol', async (t) => {
  const r = parseEndpointSlice(slice('ns', 'svc', 'x', [{ addresses: ['10.0.0.1'] }], [{ name: 'a', port: null }, { name: 'b', port: 53, protocol: 'UDP' }]), 'n');
  if (r.kind !== 'slice') throw new Error();
  t.same(r.slice.ports.map((p) => p.key), ['ns/svc:b/UDP']);
});

t.test('merging slices: the non-terminating copy of a duplicate wins', async (t) => {
  const a = parseEndpointSlice(slice('ns', 'svc', 'a', [{ addresses: ['10.0.0.1'], conditions: { ready: false, terminating: true } }]), 'n');
  const b = parseEndpointSlice(slice('ns', 'svc', 'b', [{ addresses: ['10.0.0.1'] }]), 'n');
  if (a.kind !== 'slice' || b.kind !== 'slice') throw new Error();
  for (const order of [[a.slice, b.slice], [b.slice, a.slice]]) {
    const [ep] = mergeSlices(order, 'IPv4').get('ns/svc:p80/TCP')!;
    t.equal(ep!.terminating, false);
  }
});

t.test('zone hints (upstream TestCategorizeEndpoints)', async (t) => {
  const hinted = eps([
    { addresses: ['10.1.2.3'], hints: { forZones: [{ name: 'zone-a' }] } },
    { addresses: ['10.1.2.4'], hints: { forZones: [{ name: 'zone-b' }] } },
    { addresses: ['10.1.2.5'], hints: { forZones: [{ name: 'zone-c' }] } },
    { addresses: ['10.1.2.6'], hints: { forZones: [{ name: 'zone-a' }] } },
  ]);
  t.same(ips(categorizeEndpoints(hinted, sp(), NODE, OPTS).clusterEndpoints), ['10.1.2.3', '10.1.2.6']);
  t.same(ips(categorizeEndpoints(hinted, sp(), { nodeName: 'test-node', zone: '' }, OPTS).clusterEndpoints).length, 4, 'no zone label: all');
  t.same(ips(categorizeEndpoints(hinted, sp(), { nodeName: 'test-node', zone: 'zone-z' }, OPTS).clusterEndpoints).length, 4, 'no hint for us: all');
  const oneUnhinted = [...hinted.slice(0, 3), eps([{ addresses: ['10.1.2.7'] }])[0]!];
  t.equal(categorizeEndpoints(oneUnhinted, sp(), NODE, OPTS).clusterEndpoints.length, 4, 'an endpoint without hints: all');
  t.equal(categorizeEndpoints(hinted, sp({ internalTrafficPolicy: 'Local' }), NODE, OPTS).clusterEndpoints.length, 0, 'ITP=Local ignores hints');
});

t.test('PreferSameNode: node hints win when every ready endpoint has one', async (t) => {
  const list = eps([
    { addresses: ['10.1.2.3'], nodeName: 'test-node', hints: { forNodes: [{ name: 'test-node' }], forZones: [{ name: 'zone-a' }] } },
    { addresses: ['10.1.2.4'], nodeName: 'other', hints: { forNodes: [{ name: 'other' }], forZones: [{ name: 'zone-a' }] } },
  ]);
  t.same(ips(categorizeEndpoints(list, sp(), NODE, OPTS).clusterEndpoints), ['10.1.2.3']);
  t.same(ips(categorizeEndpoints(list, sp(), NODE, { preferSameNode: false }).clusterEndpoints), ['10.1.2.3', '10.1.2.4'], 'gate off: zone hints');
});

t.test('terminating fallback, cluster policy (TestTerminatingEndpointsTrafficPolicyCluster)', async (t) => {
  const list = eps([
    { addresses: ['10.0.0.1'], conditions: { ready: false, serving: true, terminating: true } },
    { addresses: ['10.0.0.2'], conditions: { ready: false, serving: false, terminating: true } },
  ]);
  const c = categorizeEndpoints(list, sp(), NODE, OPTS);
  t.same(ips(c.clusterEndpoints), ['10.0.0.1']);
  t.ok(c.hasAnyEndpoints);
  const none = categorizeEndpoints(eps([{ addresses: ['10.0.0.2'], conditions: { ready: false, serving: false, terminating: true } }]), sp(), NODE, OPTS);
  t.notOk(none.hasAnyEndpoints, 'only non-serving endpoints: no endpoints (REJECT)');
});

t.test('terminating fallback, local policy (TestTerminatingEndpointsTrafficPolicyLocal)', async (t) => {
  const lb = sp({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ name: 'p80', port: 80, nodePort: 30080 }] });
  const full = eps([
    { addresses: ['10.0.1.1'], nodeName: 'test-node' },
    { addresses: ['10.0.1.2'], nodeName: 'test-node', conditions: { ready: false, serving: true, terminating: true } },
    { addresses: ['10.0.1.3'], nodeName: 'test-node', conditions: { ready: false, serving: false, terminating: true } },
    { addresses: ['10.0.1.4'], nodeName: 'other' },
  ]);
  t.same(ips(categorizeEndpoints(full, lb, NODE, OPTS).localEndpoints), ['10.0.1.1'], 'local ready first');
  const noReady = full.filter((e) => e.ip !== '10.0.1.1');
  t.same(ips(categorizeEndpoints(noReady, lb, NODE, OPTS).localEndpoints), ['10.0.1.2'], 'then local serving+terminating');
  const onlyDead = full.filter((e) => e.ip === '10.0.1.3' || e.ip === '10.0.1.4');
  const c = categorizeEndpoints(onlyDead, lb, NODE, OPTS);
  t.same(c.localEndpoints, [], 'non-serving local endpoints are never used');
  t.ok(c.hasAnyEndpoints, 'remote endpoints still count: DROP, not REJECT');
  t.same(ips(c.allReachableEndpoints), ['10.0.1.4']);
});

t.test('allReachableEndpoints is the union of cluster and local endpoints', async (t) => {
  const lb = sp({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ name: 'p80', port: 80, nodePort: 30080 }] });
  const list = eps([
    { addresses: ['10.0.1.1'], nodeName: 'test-node', hints: { forZones: [{ name: 'zone-b' }] } },
    { addresses: ['10.0.1.2'], nodeName: 'other', hints: { forZones: [{ name: 'zone-a' }] } },
  ]);
  const c = categorizeEndpoints(list, lb, NODE, OPTS);
  t.same(ips(c.clusterEndpoints), ['10.0.1.2']);
  t.same(ips(c.localEndpoints), ['10.0.1.1']);
  t.same(ips(c.allReachableEndpoints), ['10.0.1.1', '10.0.1.2']);
});

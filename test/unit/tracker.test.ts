import t from 'tap';
import { ChangeTracker } from '../../src/model/tracker.js';
import { service, slice, p80 } from '../support/unit/model-fixtures.js';

const svc1 = service('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: p80 });

t.test('a service and its slice produce a snapshot and a change set', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'n1' });
  t.notOk(tr.hasPendingChanges());
  tr.upsertService(svc1);
  tr.upsertEndpointSlice(slice('ns1', 'svc1', 'svc1-a', [{ addresses: ['10.0.0.1'] }]));
  t.ok(tr.hasPendingChanges());
  const c = tr.checkout();
  t.same([...c.changedServices], ['ns1/svc1']);
  const v4 = c.snapshot.families.IPv4;
  t.equal(v4.servicePorts.size, 1);
  t.same(v4.endpointsOf(v4.sortedServicePorts()[0]!).map((e) => e.endpoint), ['10.0.0.1:80']);
  t.notOk(tr.hasPendingChanges());
  t.equal(tr.checkout().changedServices.size, 0, 'nothing new: empty change set, same snapshot');
});

t.test('an update that returns to the applied state leaves nothing pending', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'n1' });
  tr.upsertService(svc1);
  tr.checkout();
  tr.upsertService(service('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 81 }] }));
  t.ok(tr.hasPendingChanges());
  tr.upsertService(svc1);
  t.notOk(tr.hasPendingChanges(), 'back to what was applied');
  t.equal(tr.getStats().serviceChangesTotal, 3);
});

t.test('earlier snapshots stay valid after later checkouts', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'n1' });
  tr.upsertService(svc1);
  const first = tr.checkout().snapshot;
  tr.deleteService('ns1/svc1');
  const second = tr.checkout().snapshot;
  t.equal(first.families.IPv4.servicePorts.size, 1);
  t.equal(second.families.IPv4.servicePorts.size, 0);
});

t.test('an invalid update keeps the last valid state and is reported', async (t) => {
  const reports: string[] = [];
  const tr = new ChangeTracker({ nodeName: 'n1', onInvalid: (kind, name, reason) => reports.push(`${kind} ${name}: ${reason}`) });
  tr.upsertService(svc1);
  tr.upsertService(service('ns2', 'ok', { clusterIP: '172.30.0.42', ports: p80 }));
  tr.checkout();
  tr.upsertService(service('ns1', 'svc1', { clusterIP: 'bogus', ports: p80 }));
  tr.upsertEndpointSlice(slice('ns1', 'svc1', 'bad', [{ addresses: ['not-an-ip'] }]));
  t.notOk(tr.hasPendingChanges());
  t.equal(reports.length, 2);
  t.match(reports[0], /Service ns1\/svc1: spec.clusterIP "bogus"/);
  t.equal(tr.current().families.IPv4.servicePorts.size, 2);
  t.equal(tr.getStats().invalidObjectsTotal, 2);
});

t.test('labels that hide an object from kube-proxy act as a delete', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'n1' });
  tr.upsertService(svc1);
  tr.checkout();
  tr.upsertService({ ...svc1, metadata: { ...svc1.metadata, labels: { 'service.kubernetes.io/service-proxy-name': 'other' } } });
  t.equal(tr.checkout().snapshot.families.IPv4.servicePorts.size, 0);
  tr.upsertService(svc1);
  t.equal(tr.checkout().snapshot.families.IPv4.servicePorts.size, 1, 'removing the label makes it visible again');
});

t.test('slices: deletion, relabelling to another service, UDP conntrack flag', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'n1' });
  tr.upsertService(svc1);
  tr.upsertService(service('ns1', 'svc2', { clusterIP: '172.30.0.42', ports: p80 }));
  tr.upsertEndpointSlice(slice('ns1', 'svc1', 's', [{ addresses: ['10.0.0.1'] }]));
  tr.checkout();
  tr.upsertEndpointSlice(slice('ns1', 'svc2', 's', [{ addresses: ['10.0.0.1'] }]));
  const c = tr.checkout();
  t.same([...c.changedServices].sort(), ['ns1/svc1', 'ns1/svc2'], 'both the old and the new owner changed');
  t.notOk(c.conntrackCleanupRequired);
  tr.deleteEndpointSlice('ns1/s');
  t.same([...tr.checkout().changedServices], ['ns1/svc2']);
  tr.upsertService(service('ns1', 'dns', { clusterIP: '172.30.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }));
  tr.upsertEndpointSlice(slice('ns1', 'dns', 'd', [{ addresses: ['10.0.0.5'] }], [{ name: 'dns', port: 53, protocol: 'UDP' }]));
  t.ok(tr.checkout().conntrackCleanupRequired, 'a UDP endpoint change asks for conntrack cleanup');
});

t.test('trigger times: only after start, dropped when the slice goes', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'n1', startTimeMs: Date.parse('2026-01-01T00:00:00Z') });
  const withTime = (name: string, when: string) => {
    const s = slice('ns1', 'svc1', name, [{ addresses: ['10.0.0.1'] }]);
    s.metadata!.annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': when };
    return s;
  };
  tr.upsertEndpointSlice(withTime('a', '2025-12-31T23:59:00Z'));
  tr.upsertEndpointSlice(withTime('b', '2026-01-01T00:00:05.123456789Z'));
  const c = tr.checkout();
  t.same(c.triggerTimes.get('ns1/svc1'), [Date.parse('2026-01-01T00:00:05.123Z')]);
  tr.upsertEndpointSlice(withTime('c', '2026-01-01T00:01:00Z'));
  tr.deleteEndpointSlice('ns1/c');
  t.equal(tr.checkout().triggerTimes.size, 0);
});

t.test('a zone change on the node is a topology change', async (t) => {
  const tr = new ChangeTracker({ nodeName: 'n1' });
  const node = (zone: string) => ({ metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': zone } } });
  t.ok(tr.setNode(node('a')));
  t.ok(tr.checkout().topologyChanged);
  t.notOk(tr.setNode(node('a')));
  t.ok(tr.setNode(node('b')));
  t.equal(tr.nodeInfo().zone, 'b');
  tr.checkout();
  t.ok(tr.setNode({ ...node('b'), status: { addresses: [{ type: 'InternalIP', address: '192.168.0.9' }] } }), 'a new node address forces a full sync');
  t.ok(tr.checkout().topologyChanged);
});

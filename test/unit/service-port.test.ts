import t from 'tap';
import { parseService, externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from '../../src/model/service-port.js';
import { service, p80 } from '../support/unit/model-fixtures.js';

function ports(svc: Parameters<typeof parseService>[0]) {
  const r = parseService(svc);
  if (r.kind !== 'ports') throw new Error(`expected ports, got ${r.kind}: ${'reason' in r ? r.reason : ''}`);
  return r.ports;
}

t.test('ClusterIP service port fields and key', async (t) => {
  const [sp] = ports(service('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: p80 })).IPv4;
  t.match(sp, { key: 'ns1/svc1:p80/TCP', spn: 'ns1/svc1:p80', serviceName: 'ns1/svc1', clusterIP: '172.30.0.41', port: 80, protocol: 'TCP', nodePort: 0 });
  t.equal(ports(service('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: p80 })).IPv6.length, 0, 'no IPv6 ClusterIP, no IPv6 ports');
  const [unnamed] = ports(service('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [{ port: 53, protocol: 'UDP' }] })).IPv4;
  t.equal(unnamed!.spn, 'ns1/svc1', 'an unnamed port prints without ":"');
  t.equal(unnamed!.key, 'ns1/svc1:/UDP');
});

t.test('headless and ExternalName services are ignored, not invalid', async (t) => {
  t.equal(parseService(service('a', 'b', { clusterIP: 'None', ports: p80 })).kind, 'ignored');
  t.equal(parseService(service('a', 'b', { clusterIP: '', ports: p80 })).kind, 'ignored');
  t.equal(parseService(service('a', 'b', { type: 'ExternalName', ports: p80 })).kind, 'ignored');
});

t.test('dual-stack: clusterIPs follow ipFamilies, addresses split by family', async (t) => {
  const r = ports(
    service('ns', 'ds', {
      type: 'LoadBalancer',
      clusterIP: '172.30.0.41',
      clusterIPs: ['172.30.0.41', 'fd00:172:30::41'],
      ipFamilies: ['IPv4', 'IPv6'],
      externalIPs: ['192.168.99.1', '2001:db8::1'],
      loadBalancerSourceRanges: ['10.0.0.0/8', '2001:db8::/32'],
      ports: [{ name: 'p80', port: 80, nodePort: 30080 }],
    }, { status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { ip: '2001:db8::9' }, { hostname: 'lb.example' }] } } }),
  );
  t.equal(r.IPv4[0]!.clusterIP, '172.30.0.41');
  t.equal(r.IPv6[0]!.clusterIP, 'fd00:172:30::41');
  t.same(r.IPv4[0]!.externalIPs, ['192.168.99.1']);
  t.same(r.IPv6[0]!.externalIPs, ['2001:db8::1']);
  t.same(r.IPv4[0]!.loadBalancerVIPs, ['1.2.3.4']);
  t.same(r.IPv6[0]!.loadBalancerVIPs, ['2001:db8::9']);
  t.same(r.IPv6[0]!.loadBalancerSourceRanges, ['2001:db8::/32']);
});

t.test('ipMode Proxy ingress points are not captured', async (t) => {
  const r = ports(service('ns', 's', { type: 'LoadBalancer', clusterIP: '10.96.0.1', ports: p80 }, { status: { loadBalancer: { ingress: [{ ip: '1.1.1.1', ipMode: 'Proxy' }, { ip: '2.2.2.2', ipMode: 'VIP' }] } } }));
  t.same(r.IPv4[0]!.loadBalancerVIPs, ['2.2.2.2']);
});

t.test('source ranges are trimmed and canonical', async (t) => {
  const r = ports(service('ns', 's', { type: 'LoadBalancer', clusterIP: '10.96.0.1', ports: p80, loadBalancerSourceRanges: [' 203.0.113.1/25'] }));
  t.same(r.IPv4[0]!.loadBalancerSourceRanges, ['203.0.113.0/25']);
});

t.test('traffic policies and health check node port', async (t) => {
  const lbLocal = ports(service('ns', 's', { type: 'LoadBalancer', clusterIP: '10.96.0.1', externalTrafficPolicy: 'Local', healthCheckNodePort: 30000, ports: [{ port: 80, nodePort: 30080 }] })).IPv4[0]!;
  t.equal(lbLocal.healthCheckNodePort, 30000);
  t.ok(lbLocal.externalPolicyLocal);
  t.ok(usesLocalEndpoints(lbLocal) && usesClusterEndpoints(lbLocal) && externallyAccessible(lbLocal));
  const clusterLB = ports(service('ns', 's', { type: 'LoadBalancer', clusterIP: '10.96.0.1', externalTrafficPolicy: 'Cluster', healthCheckNodePort: 30000, ports: p80 })).IPv4[0]!;
  t.equal(clusterLB.healthCheckNodePort, 0, 'ETP=Cluster ignores healthCheckNodePort');
  const clusterIPLocal = ports(service('ns', 's', { clusterIP: '10.96.0.1', externalTrafficPolicy: 'Local', ports: p80 })).IPv4[0]!;
  t.notOk(clusterIPLocal.externalPolicyLocal, 'ETP only applies to NodePort and LoadBalancer');
  const itp = ports(service('ns', 's', { clusterIP: '10.96.0.1', internalTrafficPolicy: 'Local', ports: p80 })).IPv4[0]!;
  t.ok(itp.internalPolicyLocal);
  t.notOk(usesClusterEndpoints(itp), 'ITP=Local without external access uses only local endpoints');
});

t.test('session affinity timeout defaults to 10800', async (t) => {
  const sp = ports(service('ns', 's', { clusterIP: '10.96.0.1', sessionAffinity: 'ClientIP', ports: p80 })).IPv4[0]!;
  t.ok(sp.sessionAffinityClientIP);
  t.equal(sp.stickyMaxAgeSeconds, 10800);
  const custom = ports(service('ns', 's', { clusterIP: '10.96.0.1', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } }, ports: p80 })).IPv4[0]!;
  t.equal(custom.stickyMaxAgeSeconds, 10);
});

t.test('IPv6 addresses are canonicalised', async (t) => {
  const sp = ports(service('ns', 's', { clusterIP: 'FD00:0:0:0::0041', ipFamilies: ['IPv6'], clusterIPs: ['FD00:0:0:0::0041'], ports: p80 })).IPv6[0]!;
  t.equal(sp.clusterIP, 'fd00::41');
});

t.test('malformed services are invalid with a reason', async (t) => {
  const bad: Array<[string, Parameters<typeof parseService>[0]]> = [
    ['bad clusterIP', service('ns', 's', { clusterIP: '300.1.1.1', ports: p80 })],
    ['bad port', service('ns', 's', { clusterIP: '10.96.0.1', ports: [{ name: 'x', port: 70000 }] })],
    ['bad protocol', service('ns', 's', { clusterIP: '10.96.0.1', ports: [{ name: 'x', port: 80, protocol: 'ICMP' }] })],
    ['bad nodePort', service('ns', 's', { type: 'NodePort', clusterIP: '10.96.0.1', ports: [{ port: 80, nodePort: -1 }] })],
    ['bad externalIP', service('ns', 's', { clusterIP: '10.96.0.1', externalIPs: ['nope'], ports: p80 })],
    ['bad source range', service('ns', 's', { type: 'LoadBalancer', clusterIP: '10.96.0.1', loadBalancerSourceRanges: ['10.0.0.0/99'], ports: p80 })],
    ['duplicate port', service('ns', 's', { clusterIP: '10.96.0.1', ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] })],
    ['bad affinity timeout', service('ns', 's', { clusterIP: '10.96.0.1', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } }, ports: p80 })],
    ['huge port list', service('ns', 's', { clusterIP: '10.96.0.1', ports: Array.from({ length: 1001 }, (_, i) => ({ name: `p${i}`, port: i + 1 })) })],
    ['no name', { spec: { clusterIP: '10.96.0.1', ports: p80 } }],
    ['bad type', service('ns', 's', { type: 'Weird', clusterIP: '10.96.0.1', ports: p80 })],
  ];
  for (const [what, svc] of bad) {
    const r = parseService(svc);
    t.equal(r.kind, 'invalid', what);
    if (r.kind === 'invalid') t.ok(r.reason.length > 0, `${what}: ${r.reason}`);
  }
});

import t from 'tap';
import { ChangeTracker } from '../../src/model/tracker.js';
import { buildIpvsDesiredState, FLAG_PERSISTENT, FLAG_SOURCE_HASH, type IpvsRuleConfig } from '../../src/modes/ipvs/desired.js';
import { generateIpvsIptablesRules } from '../../src/modes/ipvs/iptables-rules.js';
import { ipsetEntry } from '../../src/modes/ipvs/ipset-specs.js';
import { ipsetName } from '../../src/modes/ipvs/naming.js';
import { service, slice, p80 } from '../support/unit/model-fixtures.js';

const config: IpvsRuleConfig = {
  family: 'IPv4',
  scheduler: 'rr',
  masqueradeMark: '0x4000',
  masqueradeAll: false,
  localDetector: { kind: 'cidr', cidr: '10.0.0.0/8' },
  randomFully: true,
  nodeIP: '192.168.0.2',
  nodePortIPs: ['192.168.0.2', '192.168.1.2'],
  nodeAddresses: new Set(['192.168.0.2', '192.168.1.2', '198.51.100.7']),
  topology: { nodeName: 'test-node', zone: '' },
  preferSameNode: true,
};

function desiredFor(build: (tr: ChangeTracker) => void, cfg: Partial<IpvsRuleConfig> = {}) {
  const tr = new ChangeTracker({ nodeName: 'test-node' });
  build(tr);
  return buildIpvsDesiredState(tr.checkout().snapshot.families[cfg.family ?? 'IPv4'], { ...config, ...cfg });
}

const rsKeys = (d: ReturnType<typeof desiredFor>, vs: string) => d.virtualServers.get(vs)?.realServers.map((r) => r.key);

t.test('ClientIP affinity makes every virtual server of the port persistent with the timeout; mh adds the source-hash flag', async (t) => {
  const d = desiredFor(
    (tr) => {
      tr.upsertService(service('ns', 'aff', { type: 'NodePort', clusterIP: '10.96.0.10', externalIPs: ['198.51.100.9'], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ ...p80[0]!, nodePort: 30010 }] }));
      tr.upsertEndpointSlice(slice('ns', 'aff', 'a', [{ addresses: ['10.1.0.1'] }]));
    },
    { scheduler: 'mh' },
  );
  t.same([...d.virtualServers.keys()], ['10.96.0.10:80/TCP', '198.51.100.9:80/TCP', '192.168.0.2:30010/TCP', '192.168.1.2:30010/TCP']);
  for (const vs of d.virtualServers.values()) {
    t.equal(vs.flags, FLAG_PERSISTENT | FLAG_SOURCE_HASH, `${vs.key} flags`);
    t.equal(vs.timeout, 60);
    t.equal(vs.scheduler, 'mh');
  }
});

t.test('addresses: ClusterIPs always bound, externalIP/LB IP only when not already local; node IPs never', async (t) => {
  const d = desiredFor((tr) => {
    tr.upsertService(service('ns', 'lb', { type: 'LoadBalancer', clusterIP: '10.96.0.11', externalIPs: ['198.51.100.7', '198.51.100.8'], ports: [{ ...p80[0]!, nodePort: 30011 }] }, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.5' }] } } }));
  });
  t.same(d.boundAddresses, ['10.96.0.11', '198.51.100.8', '203.0.113.5']);
  t.same([...d.ipsets.get('KUBE-IPVS-IPS')!].sort(), d.boundAddresses);
  t.equal(rsKeys(d, '10.96.0.11:80/TCP')?.length, 0, 'no endpoints: a virtual server without real servers (no REJECT rule in IPVS mode)');
});

t.test('ETP=Local: local endpoints only, the cluster endpoints when there is none (upstream PR 97081), ports in the LOCAL sets', async (t) => {
  const svc = service('ns', 'etp', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, clusterIP: '10.96.0.12', ports: [{ ...p80[0]!, nodePort: 30012 }] }, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.6' }] } } });
  const both = desiredFor((tr) => {
    tr.upsertService(svc);
    tr.upsertEndpointSlice(slice('ns', 'etp', 'a', [{ addresses: ['10.1.0.1'], nodeName: 'test-node' }, { addresses: ['10.2.0.1'], nodeName: 'other' }]));
  });
  t.same(rsKeys(both, '10.96.0.12:80/TCP'), ['10.1.0.1:80', '10.2.0.1:80'], 'the ClusterIP keeps every endpoint');
  t.same(rsKeys(both, '203.0.113.6:80/TCP'), ['10.1.0.1:80']);
  t.same(rsKeys(both, '192.168.0.2:30012/TCP'), ['10.1.0.1:80']);
  t.same([...both.ipsets.get('KUBE-NODE-PORT-LOCAL-TCP')!], ['30012']);
  t.same([...both.ipsets.get('KUBE-LOAD-BALANCER-LOCAL')!], ['203.0.113.6,tcp:80']);
  t.same([...both.ipsets.get('KUBE-HEALTH-CHECK-NODE-PORT')!], ['32000']);
  t.same([...both.ipsets.get('KUBE-LOOP-BACK')!], ['10.1.0.1,tcp:80,10.1.0.1'], 'only local endpoints get hairpin entries');
  t.same(both.noLocalEndpoints, { internal: 0, external: 0 });

  const remoteOnly = desiredFor((tr) => {
    tr.upsertService(svc);
    tr.upsertEndpointSlice(slice('ns', 'etp', 'a', [{ addresses: ['10.2.0.1'], nodeName: 'other' }]));
  });
  t.same(rsKeys(remoteOnly, '203.0.113.6:80/TCP'), ['10.2.0.1:80']);
  t.same(remoteOnly.noLocalEndpoints, { internal: 0, external: 1 });
});

t.test('ITP=Local without local endpoints: no real servers (a ClusterIP-only service has no cluster endpoints)', async (t) => {
  const d = desiredFor((tr) => {
    tr.upsertService(service('ns', 'itp', { clusterIP: '10.96.0.13', internalTrafficPolicy: 'Local', ports: p80 }));
    tr.upsertEndpointSlice(slice('ns', 'itp', 'a', [{ addresses: ['10.2.0.1'], nodeName: 'other' }]));
  });
  t.same(rsKeys(d, '10.96.0.13:80/TCP'), []);
  t.same(d.noLocalEndpoints, { internal: 1, external: 0 });
});

t.test('source ranges: FW and CIDR entries; the node inside a range allows LB-IP-sourced traffic, else an OUT-FILTER drop', async (t) => {
  const lb = (ranges: string[]) =>
    desiredFor((tr) => {
      tr.upsertService(service('ns', 'fw', { type: 'LoadBalancer', clusterIP: '10.96.0.14', loadBalancerSourceRanges: ranges, ports: [{ ...p80[0]!, nodePort: 30014 }] }, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } }));
      tr.upsertEndpointSlice(slice('ns', 'fw', 'a', [{ addresses: ['10.1.0.1'] }]));
    });
  const inside = lb(['192.168.0.0/24', '203.0.113.2/32']);
  t.same([...inside.ipsets.get('KUBE-LOAD-BALANCER-SOURCE-CIDR')!], ['203.0.113.7,tcp:80,192.168.0.0/24', '203.0.113.7,tcp:80,203.0.113.2'], 'host-length nets are spelled as ipset prints them');
  t.same([...inside.ipsets.get('KUBE-LOAD-BALANCER-SOURCE-IP')!], ['203.0.113.7,tcp:80,203.0.113.7']);
  t.same(inside.noNodeAccess, []);
  const outside = lb(['203.0.113.0/25']);
  t.same(outside.ipsets.get('KUBE-LOAD-BALANCER-SOURCE-IP')!.size, 0);
  t.same(outside.noNodeAccess, [{ ip: '203.0.113.7', protocol: 'tcp', port: 80 }]);
  t.match(generateIpvsIptablesRules(outside, config).text, /-A KUBE-IPVS-OUT-FILTER -s 203\.0\.113\.7 -m ipvs --vaddr 203\.0\.113\.7 --vproto tcp --vport 80 -j DROP/);
});

t.test('SCTP NodePorts use hash:ip,port entries per node IP; UDP the UDP bitmap', async (t) => {
  const d = desiredFor((tr) => {
    tr.upsertService(service('ns', 'multi', { type: 'NodePort', clusterIP: '10.96.0.15', externalTrafficPolicy: 'Local', ports: [{ name: 's', port: 53, protocol: 'SCTP', nodePort: 30053 }, { name: 'u', port: 53, protocol: 'UDP', nodePort: 30054 }] }));
  });
  t.same([...d.ipsets.get('KUBE-NODE-PORT-SCTP-HASH')!], ['192.168.0.2,sctp:30053', '192.168.1.2,sctp:30053']);
  t.same([...d.ipsets.get('KUBE-NODE-PORT-LOCAL-SCTP-HASH')!], ['192.168.0.2,sctp:30053', '192.168.1.2,sctp:30053']);
  t.same([...d.ipsets.get('KUBE-NODE-PORT-UDP')!], ['30054']);
  const text = generateIpvsIptablesRules(d, config).text;
  t.match(text, /-A KUBE-NODE-PORT -p sctp -m comment --comment "[^"]+" -m set --match-set KUBE-NODE-PORT-LOCAL-SCTP-HASH dst,dst -j RETURN\n-A KUBE-NODE-PORT -p sctp .* KUBE-NODE-PORT-SCTP-HASH dst,dst -j KUBE-MARK-MASQ/);
  t.ok(text.indexOf('KUBE-NODE-PORT-LOCAL-UDP') < text.indexOf('--match-set KUBE-NODE-PORT-UDP'), 'each LOCAL RETURN precedes its masquerade rule');
});

t.test('the ClusterIP masquerade rule: masqueradeAll, the detector, or src,dst without one', async (t) => {
  const d = desiredFor((tr) => tr.upsertService(service('ns', 'c', { clusterIP: '10.96.0.16', ports: p80 })));
  const rule = (cfg: Partial<IpvsRuleConfig>) => generateIpvsIptablesRules(d, { ...config, ...cfg }).text.split('\n').find((l) => l.includes('--match-set KUBE-CLUSTER-IP') && l.includes('KUBE-MARK-MASQ'));
  t.match(rule({}), /dst,dst ! -s 10\.0\.0\.0\/8 -j KUBE-MARK-MASQ$/);
  t.match(rule({ masqueradeAll: true }), /dst,dst -j KUBE-MARK-MASQ$/);
  t.match(rule({ localDetector: { kind: 'none' } }), /src,dst -j KUBE-MARK-MASQ$/);
  t.match(rule({ localDetector: { kind: 'prefix', prefix: 'veth' } }), /dst,dst ! -i veth\+ -j KUBE-MARK-MASQ$/);
  t.match(generateIpvsIptablesRules(d, { ...config, randomFully: true, masqueradeMark: '0x00004000' }).text, /--mark 0x00004000\/0x00004000 -j RETURN[\s\S]*-j MASQUERADE --random-fully/);
});

t.test('two service ports wanting one virtual server: the first (by key) keeps it and the clash is reported', async (t) => {
  const d = desiredFor((tr) => {
    tr.upsertService(service('a', 'one', { clusterIP: '10.96.0.17', externalIPs: ['198.51.100.20'], ports: p80 }));
    tr.upsertService(service('b', 'two', { clusterIP: '10.96.0.18', externalIPs: ['198.51.100.20'], ports: p80 }));
  });
  t.equal(d.virtualServers.get('198.51.100.20:80/TCP')?.serviceName, 'a/one');
  t.same(d.conflicts, ['b/two:p80 externalIP 198.51.100.20:80/TCP']);
});

t.test('IPv6: bracketed keys, KUBE-6- set names cut to 31 characters', async (t) => {
  const d = desiredFor(
    (tr) => {
      tr.upsertService(service('ns', 'v6', { clusterIP: 'fd00:10:96::10', ipFamilies: ['IPv6'], clusterIPs: ['fd00:10:96::10'], ports: p80 }));
      tr.upsertEndpointSlice(slice('ns', 'v6', 'a', [{ addresses: ['fd00:10:1::5'] }], p80, 'IPv6'));
    },
    { family: 'IPv6', nodePortIPs: [], nodeAddresses: new Set(), nodeIP: '2001:db8::2', localDetector: { kind: 'cidr', cidr: 'fd00:10::/32' } },
  );
  t.same(rsKeys(d, '[fd00:10:96::10]:80/TCP'), ['[fd00:10:1::5]:80']);
  t.equal(ipsetName('KUBE-NODE-PORT-LOCAL-SCTP-HASH', 'IPv6'), 'KUBE-6-NODE-PORT-LOCAL-SCTP-HAS');
  t.equal(ipsetName('KUBE-CLUSTER-IP', 'IPv6'), 'KUBE-6-CLUSTER-IP');
  t.equal(ipsetEntry.ipPortNet('fd00::1', 'TCP', 80, 'fd00:1::/64'), 'fd00::1,tcp:80,fd00:1::/64');
  t.equal(ipsetEntry.ipPortNet('fd00::1', 'TCP', 80, 'fd00:1::5/128'), 'fd00::1,tcp:80,fd00:1::5');
  t.match(generateIpvsIptablesRules(d, { ...config, family: 'IPv6' }).text, /-A KUBE-SERVICES -s ::1\/128 -j RETURN/);
});

// A synthetic kube-proxy nftables ruleset (upstream's layout: table kube-proxy, base chains,
// service/endpoint chains, verdict maps), as an nft JSON document. Used by the native
// nf_tables benchmark and by the equivalence tests in test/native.
import type { NftJsonCommand, NftJsonDocument, NftJsonExpr, NftJsonStatement } from '../src/kernel/netlink.js';

export interface LayoutOptions {
  family: 'ip' | 'ip6';
  services: number;
  endpointsPerService: number;
  /** Add the rarer constructs (affinity, NodePorts, LB firewalls, no-endpoint services, ETP=Local). */
  variety?: boolean;
  table?: string;
}

const MASQ_BIT = 0x4000;

function base32(n: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let s = '';
  for (let i = 0; i < 8; i++) {
    s += alphabet[n % 32];
    n = Math.floor(n / 32);
  }
  return s;
}

function v4(a: number, b: number, c: number, d: number): string {
  return `${a}.${b}.${c}.${d}`;
}

/** Addresses per family: service i gets a ClusterIP, endpoint j of it a pod IP. */
function addressing(family: 'ip' | 'ip6') {
  if (family === 'ip') {
    return {
      clusterIP: (i: number) => v4(10, 96, (i >> 8) & 0xff, i & 0xff),
      lbIP: (i: number) => v4(192, 0, 2 + ((i >> 8) & 0x3), i & 0xff),
      podIP: (i: number, j: number) => v4(10, 100 + (j & 0x3f), (i >> 8) & 0xff, i & 0xff),
      serviceCIDR: { prefix: { addr: '10.96.0.0', len: 16 } },
      podCIDR: { prefix: { addr: '10.0.0.0', len: 8 } },
      sourceRange: { prefix: { addr: '203.0.113.0', len: 25 } },
      loopback: { prefix: { addr: '127.0.0.0', len: 8 } },
      addrType: 'ipv4_addr',
    };
  }
  return {
    clusterIP: (i: number) => `fd00:96::${i.toString(16)}`,
    lbIP: (i: number) => `2001:db8::${i.toString(16)}`,
    podIP: (i: number, j: number) => `fd00:10:${j.toString(16)}::${i.toString(16)}`,
    serviceCIDR: { prefix: { addr: 'fd00:96::', len: 108 } },
    podCIDR: { prefix: { addr: 'fd00:10::', len: 48 } },
    sourceRange: { prefix: { addr: '2001:db8:1::', len: 64 } },
    loopback: '::1',
    addrType: 'ipv6_addr',
  };
}

export function kubeProxyLayout(opts: LayoutOptions): NftJsonDocument {
  const family = opts.family;
  const table = opts.table ?? 'kube-proxy';
  const ip = family;
  const a = addressing(family);
  const cmds: NftJsonCommand[] = [];
  const add = (o: NftJsonCommand['add']) => cmds.push({ add: o });
  const chain = (name: string, base?: { type: 'filter' | 'nat'; hook: string; prio: number }) =>
    add({ chain: { family, table, name, ...(base ? { ...base, policy: 'accept' as const } : {}) } });
  const rule = (chainName: string, expr: NftJsonStatement[], comment?: string) =>
    add({ rule: { family, table, chain: chainName, expr, ...(comment ? { comment } : {}) } });
  const element = (name: string, elem: NftJsonExpr[]) => add({ element: { family, table, name, elem } });
  const payload = (field: string, protocol: string = ip) => ({ payload: { protocol, field } });
  const daddr = payload('daddr');
  const saddr = payload('saddr');
  const l4proto = { meta: { key: 'l4proto' } };
  const dport = payload('dport', 'th');
  const match = (left: NftJsonExpr, right: NftJsonExpr, op: '==' | '!=' | 'in' = '=='): NftJsonStatement => ({
    match: { op, left, right },
  });
  const jump = (target: string) => ({ jump: { target } });
  const goto = (target: string) => ({ goto: { target } });
  const ctNew = match({ ct: { key: 'state' } }, 'new', 'in');
  const svcKey = { concat: [daddr, l4proto, dport] };
  const portKey = { concat: [l4proto, dport] };

  add({ table: { family, name: table, comment: 'rules for kube-proxy' } });
  chain('filter-prerouting-pre-dnat', { type: 'filter', hook: 'prerouting', prio: -110 });
  chain('filter-output-pre-dnat', { type: 'filter', hook: 'output', prio: -110 });
  chain('filter-input', { type: 'filter', hook: 'input', prio: 0 });
  chain('filter-forward', { type: 'filter', hook: 'forward', prio: 0 });
  chain('filter-output', { type: 'filter', hook: 'output', prio: 0 });
  chain('nat-prerouting', { type: 'nat', hook: 'prerouting', prio: -100 });
  chain('nat-output', { type: 'nat', hook: 'output', prio: -100 });
  chain('nat-postrouting', { type: 'nat', hook: 'postrouting', prio: 100 });
  for (const helper of [
    'services',
    'service-endpoints-check',
    'nodeport-endpoints-check',
    'firewall-check',
    'cluster-ips-check',
    'mark-for-masquerade',
    'masquerading',
    'reject-chain',
  ]) {
    chain(helper);
  }
  add({ set: { family, table, name: 'cluster-ips', type: a.addrType, comment: 'Active ClusterIPs' } });
  add({ set: { family, table, name: 'nodeport-ips', type: a.addrType, comment: 'IPs that accept NodePort traffic' } });
  const vmap = (name: string, type: string[], comment: string) =>
    add({ map: { family, table, name, type, map: 'verdict', comment } });
  vmap('service-ips', [a.addrType, 'inet_proto', 'inet_service'], 'ClusterIP, ExternalIP and LoadBalancer IP traffic');
  vmap('service-nodeports', ['inet_proto', 'inet_service'], 'NodePort traffic');
  vmap('firewall-ips', [a.addrType, 'inet_proto', 'inet_service'], 'destinations that are subject to LoadBalancerSourceRanges');
  vmap('no-endpoint-services', [a.addrType, 'inet_proto', 'inet_service'], 'vmap to drop or reject packets to services with no endpoints');
  vmap('no-endpoint-nodeports', ['inet_proto', 'inet_service'], 'vmap to drop or reject packets to service nodeports with no endpoints');

  rule('filter-prerouting-pre-dnat', [ctNew, jump('firewall-check')]);
  rule('filter-output-pre-dnat', [ctNew, jump('firewall-check')]);
  rule('filter-input', [ctNew, jump('nodeport-endpoints-check')]);
  rule('filter-input', [ctNew, jump('service-endpoints-check')]);
  rule('filter-forward', [ctNew, jump('service-endpoints-check')]);
  rule('filter-forward', [ctNew, jump('cluster-ips-check')]);
  rule('filter-output', [ctNew, jump('service-endpoints-check')]);
  rule('filter-output', [ctNew, jump('cluster-ips-check')]);
  rule('nat-prerouting', [jump('services')]);
  rule('nat-output', [jump('services')]);
  rule('nat-postrouting', [jump('masquerading')]);
  rule('services', [{ vmap: { key: svcKey, data: '@service-ips' } }]);
  rule('services', [match(daddr, '@nodeport-ips'), { vmap: { key: portKey, data: '@service-nodeports' } }]);
  rule('service-endpoints-check', [{ vmap: { key: svcKey, data: '@no-endpoint-services' } }]);
  rule('nodeport-endpoints-check', [match(daddr, '@nodeport-ips'), { vmap: { key: portKey, data: '@no-endpoint-nodeports' } }]);
  rule('firewall-check', [{ vmap: { key: svcKey, data: '@firewall-ips' } }]);
  rule('cluster-ips-check', [match(daddr, '@cluster-ips'), { reject: null }], 'Reject traffic to invalid ports of ClusterIPs');
  rule('cluster-ips-check', [match(daddr, { set: [a.serviceCIDR] }), { drop: null }], 'Drop traffic to unallocated ClusterIPs');
  const mark = { meta: { key: 'mark' } };
  rule('mark-for-masquerade', [{ mangle: { key: mark, value: { '|': [mark, MASQ_BIT] } } }]);
  rule('masquerading', [match({ '&': [mark, MASQ_BIT] }, 0), { return: null }]);
  rule('masquerading', [{ mangle: { key: mark, value: { '^': [mark, MASQ_BIT] } } }]);
  rule('masquerading', [{ masquerade: { flags: ['fully-random'] } }]);
  rule('reject-chain', [{ reject: null }]);
  if (opts.variety) {
    // The "match all" NodePort form: fib daddr type local and not loopback.
    const fibLocal = match({ fib: { result: 'type', flags: ['daddr'] } }, 'local');
    const notLoopback = match(daddr, a.loopback, '!=');
    rule('services', [fibLocal, notLoopback, { vmap: { key: portKey, data: '@service-nodeports' } }]);
    rule('nodeport-endpoints-check', [fibLocal, notLoopback, { vmap: { key: portKey, data: '@no-endpoint-nodeports' } }]);
    element('nodeport-ips', [a.clusterIP(65000)]);
  }

  const clusterIPs: NftJsonExpr[] = [];
  const serviceIPs: NftJsonExpr[] = [];
  for (let i = 0; i < opts.services; i++) {
    const spn = `ns${i % 97}/svc${i}/tcp/p80`;
    const svcChain = `service-${base32(i * 7919 + 1)}-${spn}`;
    const clusterIP = a.clusterIP(i);
    const variant = opts.variety ? i % 6 : -1;
    clusterIPs.push(clusterIP);

    if (opts.endpointsPerService === 0 || variant === 3) {
      // No endpoints: packets are rejected through the no-endpoint map.
      element('no-endpoint-services', [
        [{ elem: { val: { concat: [clusterIP, 'tcp', 80] }, comment: spn } }, goto('reject-chain')],
      ]);
      continue;
    }
    chain(svcChain);
    serviceIPs.push([{ concat: [clusterIP, 'tcp', 80] }, goto(svcChain)]);
    rule(svcChain, [match(daddr, clusterIP), match(saddr, a.podCIDR, '!='), jump('mark-for-masquerade')]);
    const endpointChains: string[] = [];
    for (let j = 0; j < opts.endpointsPerService; j++) {
      const podIP = a.podIP(i, j);
      const epChain = `endpoint-${base32(i * 131 + j * 7 + 3)}-${spn}__${podIP.replace(/:/g, '.')}/8080`;
      endpointChains.push(epChain);
      chain(epChain);
      rule(epChain, [match(saddr, podIP), jump('mark-for-masquerade')]);
      if (variant === 1) {
        const affinity = `affinity-${base32(i * 131 + j * 7 + 3)}-${spn}`;
        add({ set: { family, table, name: affinity, type: a.addrType, flags: ['timeout'], timeout: 10800 } });
        rule(epChain, [{ set: { op: 'update', elem: saddr, set: `@${affinity}` } }]);
        rule(svcChain, [match(saddr, `@${affinity}`), goto(epChain)]);
      }
      rule(epChain, [match(l4proto, 'tcp'), { dnat: { addr: podIP, port: 8080 } }]);
    }
    rule(svcChain, [
      {
        vmap: {
          key: { numgen: { mode: 'random', mod: endpointChains.length } },
          data: { set: endpointChains.map((c, j) => [j, goto(c)]) },
        },
      },
    ]);
    if (variant === 2 || variant === 4) {
      // NodePort and LoadBalancer with source ranges.
      const extChain = `external-${base32(i * 7919 + 1)}-${spn}`;
      const fwChain = `firewall-${base32(i * 7919 + 1)}-${spn}`;
      const nodePort = 30000 + (i % 2000);
      chain(extChain);
      if (variant === 2) {
        rule(extChain, [jump('mark-for-masquerade')]);
        rule(extChain, [goto(svcChain)]);
      } else {
        const fibLocal = match({ fib: { result: 'type', flags: ['saddr'] } }, 'local');
        rule(extChain, [match(saddr, a.podCIDR), goto(svcChain)], 'short-circuit pod traffic');
        rule(extChain, [fibLocal, jump('mark-for-masquerade')], 'masquerade local traffic');
        rule(extChain, [fibLocal, goto(svcChain)], 'short-circuit local traffic');
      }
      element('service-nodeports', [[{ concat: ['tcp', nodePort] }, goto(extChain)]]);
      chain(fwChain);
      rule(fwChain, [match(saddr, { set: [a.sourceRange] }, '!='), { drop: null }]);
      element('firewall-ips', [[{ concat: [a.lbIP(i), 'tcp', 80] }, goto(fwChain)]]);
      element('service-ips', [[{ concat: [a.lbIP(i), 'tcp', 80] }, goto(extChain)]]);
      element('no-endpoint-nodeports', [
        [{ elem: { val: { concat: ['udp', nodePort] }, comment: spn } }, { drop: null }],
      ]);
    }
  }
  if (clusterIPs.length > 0) element('cluster-ips', clusterIPs);
  if (serviceIPs.length > 0) element('service-ips', serviceIPs);
  return { nftables: cmds };
}

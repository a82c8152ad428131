import t from 'tap';
import { renderStatement, renderCommand, formatDocument } from '../../src/modes/nftables/render.js';
import { chooseApplier } from '../../src/modes/nftables/factory.js';
import { dryRunApplier } from '../../src/modes/nftables/applier-dry-run.js';
import { localTrafficMatch, cidrValue } from '../../src/modes/nftables/expressions.js';

t.test('statements render as nft text', async (t) => {
  t.equal(renderStatement({ dnat: { addr: 'fd00::1', port: 80 } }), 'dnat to [fd00::1]:80', 'IPv6 endpoints in brackets');
  t.equal(renderStatement({ dnat: { addr: '10.0.0.1', port: 80 } }), 'dnat to 10.0.0.1:80');
  t.equal(renderStatement({ match: { op: '==', left: { '&': [{ meta: { key: 'mark' } }, 0x4000] }, right: 0 } }), 'mark and 0x4000 == 0');
  t.equal(renderStatement({ match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } }), 'ct state new');
  t.equal(renderStatement(localTrafficMatch({ kind: 'prefix', prefix: 'veth' }, 'IPv4', false)!), 'iifname != "veth*"');
  t.equal(renderStatement(localTrafficMatch({ kind: 'bridge', interface: 'cbr0' }, 'IPv6', true)!), 'iifname "cbr0"');
  t.equal(renderStatement(localTrafficMatch({ kind: 'cidr', cidr: 'fd00:10::/64' }, 'IPv6', false)!), 'ip6 saddr != fd00:10::/64');
  t.equal(localTrafficMatch({ kind: 'none' }, 'IPv4', true), undefined, 'no detector: no match, no rule');
  t.same(cidrValue('10.0.0.5/32'), '10.0.0.5', 'host prefixes become addresses');
});

t.test('element commands render one element per line', async (t) => {
  const lines = renderCommand({ delete: { element: { family: 'ip', table: 'kube-proxy', name: 'service-ips', elem: [{ concat: ['1.2.3.4', 'tcp', 80] }, { concat: ['1.2.3.5', 'udp', 53] }] } } });
  t.same(lines, ['delete element ip kube-proxy service-ips { 1.2.3.4 . tcp . 80 }', 'delete element ip kube-proxy service-ips { 1.2.3.5 . udp . 53 }']);
  t.equal(formatDocument({ nftables: [] }), '{"nftables": []}\n');
});

t.test('--nftables-applier: auto prefers netlink, explicit choices are honoured', async (t) => {
  const up = { available: true, abiVersion: 2 } as const;
  const down = { available: false, reason: 'not built' } as const;
  t.equal(chooseApplier('auto', up).name, 'netlink');
  t.equal(chooseApplier('auto', down).name, 'nft');
  t.match(chooseApplier('auto', down).reason, /not built/);
  t.equal(chooseApplier('nft', up).name, 'nft');
  t.equal(chooseApplier('netlink', up).name, 'netlink');
  t.throws(() => chooseApplier('netlink', down), /native module is unavailable: not built/);
});

t.test('the dry-run applier prints and reports an empty kernel', async (t) => {
  const out: string[] = [];
  const a = dryRunApplier((s) => out.push(s));
  await a.apply({ nftables: [{ add: { table: { family: 'ip', name: 'kube-proxy' } } }] });
  await a.apply({ nftables: [] });
  t.equal(out.length, 1, 'empty transactions print nothing');
  t.match(out[0]!, /add table ip kube-proxy/);
  t.equal(await a.listTable('IPv4'), undefined);
  t.equal(await a.deleteTable('IPv4'), false);
});

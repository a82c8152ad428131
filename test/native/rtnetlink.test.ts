// rtnetlink links and addresses against the real kernel, cross-checked with `ip -j`.
import t from 'tap';

import {
  addAddress,
  addLink,
  applyAddresses,
  deleteAddress,
  deleteLink,
  getLink,
  listAddresses,
  listLinks,
  setLinkUp,
} from '../../src/kernel/netlink.js';
import { createNetns, runInChecked } from '../support/native.js';

interface IpAddrJson {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

function ipAddresses(netns: string, link: string): string[] {
  const json = JSON.parse(runInChecked(netns, ['ip', '-j', 'addr', 'show', 'dev', link])) as IpAddrJson[];
  return (json[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).sort();
}

t.test('links: create bridge and veth, set up and down, list, delete', async (t) => {
  const netns = createNetns(t, 'links');
  await addLink({ name: 'kpt-br0', kind: 'bridge' }, { netns });
  await addLink({ name: 'kpt-va', kind: 'veth', peer: 'kpt-vb' }, { netns });
  await setLinkUp('kpt-br0', true, { netns });

  const br = await getLink('kpt-br0', { netns });
  t.match(br, { name: 'kpt-br0', kind: 'bridge', up: true, mtu: 1500 });
  t.match(br?.address, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  t.match(await getLink('kpt-vb', { netns }), { kind: 'veth', up: false });
  const ipLinks = JSON.parse(runInChecked(netns, ['ip', '-j', 'link'])) as { ifname: string; ifindex: number }[];
  t.strictSame(
    (await listLinks({ netns })).map((l) => [l.name, l.index]).sort(),
    ipLinks.map((l) => [l.ifname, l.ifindex]).sort(),
    'same links and indexes as ip link',
  );

  await setLinkUp('kpt-br0', false, { netns });
  t.equal((await getLink('kpt-br0', { netns }))?.up, false);
  await t.rejects(addLink({ name: 'kpt-br0', kind: 'bridge' }, { netns }), { code: 'EEXIST' });
  await deleteLink('kpt-va', { netns });
  t.equal(await getLink('kpt-vb', { netns }), undefined, 'deleting one end of a veth removes both');
  await t.rejects(deleteLink('kpt-va', { netns }), { code: 'ENODEV' });
  await t.rejects(addLink({ name: 'x'.repeat(16), kind: 'bridge' }, { netns }), TypeError);
});

t.test('a dummy link such as kube-ipvs0 (where the kernel has the dummy driver)', async (t) => {
  const netns = createNetns(t, 'dummy');
  try {
    await addLink({ name: 'kube-ipvs0', kind: 'dummy' }, { netns });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EOPNOTSUPP' || code === 'ENOENT') {
      t.pass(`this kernel has no dummy driver (${code}); test/vm/guest/native-ipvs.test.ts covers it`);
      return;
    }
    throw err;
  }
  await addAddress('kube-ipvs0', '10.96.0.1', 32, { netns });
  t.match(await getLink('kube-ipvs0', { netns }), { kind: 'dummy', up: false });
  t.strictSame(ipAddresses(netns, 'kube-ipvs0'), ['10.96.0.1/32']);
});

t.test('addresses: batched add/delete with one result per operation', async (t) => {
  const netns = createNetns(t, 'addrs');
  await addLink({ name: 'kpt-br0', kind: 'bridge' }, { netns });
  const many = Array.from({ length: 300 }, (_, i) => ({
    op: 'add' as const,
    link: 'kpt-br0',
    address: `10.96.${i >> 8}.${i & 255}`,
    prefixLen: 32,
  }));
  const result = await applyAddresses(
    [
      ...many,
      { op: 'add', link: 'kpt-br0', address: '10.96.0.0', prefixLen: 32 },
      { op: 'add', link: 'kpt-br0', address: 'fd00:96::1', prefixLen: 128, noDad: true },
      { op: 'add', link: 'no-such-link', address: '10.1.1.1', prefixLen: 32 },
    ],
    { netns },
  );
  t.equal(result.sendmsgCalls, 1, 'one sendmsg for 303 operations');
  t.ok(result.results.slice(0, 300).every((r) => r.ok));
  t.match(result.results[300], { ok: false, code: 'EEXIST' });
  t.match(result.results[301], { ok: true });
  t.match(result.results[302], { ok: false, code: 'ENODEV' });

  const listed = await listAddresses({ netns, link: 'kpt-br0' });
  const global = listed.filter((a) => a.scope === 0).map((a) => `${a.address}/${a.prefixLen}`).sort();
  t.strictSame(global, ipAddresses(netns, 'kpt-br0').filter((a) => !a.startsWith('fe80')));
  t.equal(global.length, 301);
  t.equal((await listAddresses({ netns, link: 'kpt-br0', family: 'ipv6' })).every((a) => a.family === 10), true);

  await deleteAddress('kpt-br0', '10.96.0.5', 32, { netns });
  await addAddress('kpt-br0', '10.96.0.6', 32, { netns, replace: true });
  await t.rejects(deleteAddress('kpt-br0', '10.96.0.5', 32, { netns }), { code: 'EADDRNOTAVAIL' });
  t.notOk(ipAddresses(netns, 'kpt-br0').includes('10.96.0.5/32'));
  await t.rejects(listAddresses({ netns, link: 'nope' }), { code: 'ENODEV' });
});

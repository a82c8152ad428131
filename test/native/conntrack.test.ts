// Conntrack entries created by real UDP traffic in a namespace, listed with filters and deleted.
//
// The namespace sends UDP to a "ClusterIP" 10.96.0.10:53 that an nft rule DNATs to the
// "endpoint" 10.0.0.2:5353, and to 10.0.0.3:7 without DNAT. The first flow then has original
// destination 10.96.0.10:53 and reply source 10.0.0.2, which is what kube-proxy's stale-UDP
// cleanup filters on.
import { execFileSync } from 'node:child_process';

import t from 'tap';

import { applyNftJson, deleteConntrack, listConntrack } from '../../src/kernel/netlink.js';
import { createNetns, runIn, runInChecked } from '../support/native.js';

const UDP = 17;

function sendUdp(netns: string, targets: { address: string; port: number; sourcePort: number }[]): void {
  // A short node program sends one datagram per target from a fixed source port.
  const program = `
    const dgram = require('node:dgram');
    const targets = ${JSON.stringify(targets)};
    let left = targets.length;
    for (const t of targets) {
      const s = dgram.createSocket('udp4');
      s.bind(t.sourcePort, '10.0.0.1', () => s.send('x', t.port, t.address, () => { s.close(); if (--left === 0) process.exit(0); }));
    }`;
  execFileSync('ip', ['netns', 'exec', netns, process.execPath, '-e', program], { timeout: 20000 });
}

t.test('UDP flows: list with filters, delete by original destination and reply source', async (t) => {
  const netns = createNetns(t, 'ct');
  runInChecked(netns, ['ip', 'link', 'set', 'lo', 'up']);
  runInChecked(netns, ['ip', 'addr', 'add', '10.0.0.1/8', 'dev', 'lo']);
  // A nat rule turns conntrack on in this namespace and provides the DNAT.
  await applyNftJson(
    {
      nftables: [
        { add: { table: { family: 'ip', name: 'ct-test' } } },
        { add: { chain: { family: 'ip', table: 'ct-test', name: 'out', type: 'nat', hook: 'output', prio: -100 } } },
        {
          add: {
            rule: {
              family: 'ip',
              table: 'ct-test',
              chain: 'out',
              expr: [
                { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '10.96.0.10' } },
                { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'udp' } },
                { dnat: { addr: '10.0.0.2', port: 5353 } },
              ],
            },
          },
        },
      ],
    },
    { netns },
  );
  sendUdp(netns, [
    { address: '10.96.0.10', port: 53, sourcePort: 40001 },
    { address: '10.96.0.10', port: 53, sourcePort: 40002 },
    { address: '10.0.0.3', port: 7, sourcePort: 40003 },
  ]);

  const all = await listConntrack({ protocol: UDP }, { netns });
  t.equal(all.length, 3, 'three UDP flows tracked');
  const toService = await listConntrack({ protocol: UDP, origDst: '10.96.0.10' }, { netns });
  t.equal(toService.length, 2);
  t.match(toService[0], {
    family: 2,
    protocol: UDP,
    orig: { src: '10.0.0.1', dst: '10.96.0.10', dstPort: 53 },
    reply: { src: '10.0.0.2', srcPort: 5353, dst: '10.0.0.1' },
  });
  t.ok(toService.every((e) => typeof e.id === 'number' && typeof e.timeout === 'number'));
  t.equal((await listConntrack({ protocol: UDP, origDstPort: 7 }, { netns })).length, 1);
  t.equal((await listConntrack({ family: 10 }, { netns })).length, 0, 'no IPv6 flows');

  // The conntrack tool sees the same flows.
  const tool = runIn(netns, ['conntrack', '-L', '-p', 'udp']);
  if (tool.status === 0) t.equal(tool.stdout.trim().split('\n').length, 3, 'conntrack -L agrees');

  const deleted = await deleteConntrack({ protocol: UDP, origDst: '10.96.0.10', replySrc: '10.0.0.2' }, { netns });
  t.match(deleted, { matched: 2, deleted: 2, alreadyGone: 0, sendmsgCalls: 1 });
  const left = await listConntrack({ protocol: UDP }, { netns });
  t.strictSame(
    left.map((e) => e.orig.dst),
    ['10.0.0.3'],
    'only the flow that was not to the service remains',
  );
  t.match(await deleteConntrack({ protocol: UDP, origDst: '10.96.0.10' }, { netns }), { matched: 0, deleted: 0 });
  t.match(await deleteConntrack({ protocol: UDP, origDstPort: 7, replySrc: '10.0.0.3' }, { netns }), { deleted: 1 });
  t.equal((await listConntrack({}, { netns })).length, 0);
});

t.test('filters are validated', async (t) => {
  await t.rejects(deleteConntrack({}, {}), { name: 'TypeError', message: /protocol/ });
  await t.rejects(listConntrack({ origDst: 'not-an-ip' }), { name: 'TypeError' });
  await t.rejects(listConntrack({ origDstPort: 70000 }), { name: 'TypeError' });
});

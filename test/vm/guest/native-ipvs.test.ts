// IPVS and the kube-ipvs0 dummy link through the native module, against a kernel that has them:
// the VM lab's Debian kernel (npm run test:vm -- test/vm/guest/native-ipvs.test.ts), or any host
// with ip_vs. Where the generic netlink family "IPVS" is absent every test skips.
import t, { type Test } from 'tap';

import {
  IpvsServiceFlags,
  addAddress,
  addLink,
  applyIpvs,
  deleteAddress,
  flushIpvs,
  getIpvsTimeouts,
  getLink,
  listAddresses,
  listIpvsDestinations,
  listIpvsServices,
  probeIpvs,
  setIpvsTimeouts,
  setLinkUp,
  type IpvsServiceKey,
} from '../../../src/kernel/netlink.js';
import { createNetns, runIn } from '../../support/native.js';

const TCP = 6;
const UDP = 17;
const SCTP = 132;

// Probed once, in a namespace of its own, before any test starts.
const probed = await probeIpvs({ netns: createNetns(t, 'ipvs-probe') });
const skip = probed.available ? false : 'this kernel has no IPVS (generic netlink family "IPVS" is absent)';

/**
 * IPv4 real servers must have a unicast route type, which the kernel looks up in the local
 * routing table; a brand-new namespace has none until an interface is up (EINVAL otherwise).
 */
async function nodeLikeNamespace(t: Test, purpose: string): Promise<string> {
  const netns = createNetns(t, purpose);
  await setLinkUp('lo', true, { netns });
  return netns;
}

t.test('IPVS through generic netlink', { skip }, async (t) => {
  const netns = await nodeLikeNamespace(t, 'ipvs');
  const probe = await probeIpvs({ netns });
  t.ok(probe.familyId && probe.familyId >= 0x10, `family id ${probe.familyId}`);
  const o = { netns };

  await setIpvsTimeouts({ tcp: 900, tcpFin: 120, udp: 300 }, o);
  t.strictSame(await getIpvsTimeouts(o), { tcp: 900, tcpFin: 120, udp: 300 });

  const web: IpvsServiceKey = { protocol: TCP, address: '10.96.0.10', port: 80 };
  const dns: IpvsServiceKey = { protocol: UDP, address: '10.96.0.53', port: 53 };
  const sctp6: IpvsServiceKey = { protocol: SCTP, address: 'fd00:96::7', port: 7777 };
  const result = await applyIpvs(
    [
      { op: 'addService', service: { ...web, scheduler: 'rr' } },
      { op: 'addService', service: { ...dns, scheduler: 'rr', flags: IpvsServiceFlags.persistent, timeout: 10800 } },
      { op: 'addService', service: { ...sctp6, scheduler: 'rr' } },
      { op: 'addService', service: { family: 2, fwmark: 0x4000, scheduler: 'rr' } },
      { op: 'addDestination', service: web, destination: { address: '10.244.1.2', port: 8080, weight: 1 } },
      { op: 'addDestination', service: web, destination: { address: '10.244.2.2', port: 8080, weight: 1 } },
      { op: 'addDestination', service: dns, destination: { address: '10.244.1.3', port: 53 } },
      { op: 'addDestination', service: sctp6, destination: { address: 'fd00:244::3', port: 7777, weight: 3 } },
      // Fails on its own: the service exists already. The rest still applies (no transactions).
      { op: 'addService', service: { ...web, scheduler: 'rr' } },
      { op: 'addDestination', service: { protocol: TCP, address: '10.96.9.9', port: 1 }, destination: { address: '10.0.0.1', port: 1 } },
    ],
    o,
  );
  t.equal(result.sendmsgCalls, 1, 'one sendmsg for ten operations');
  t.strictSame(result.results.slice(0, 8), Array.from({ length: 8 }, () => ({ ok: true })), 'the eight valid operations succeeded');
  t.match(result.results[8], { ok: false, code: 'EEXIST' });
  t.match(result.results[9], { ok: false });

  const services = await listIpvsServices(o);
  t.equal(services.length, 4);
  const listedWeb = services.find((s) => s.address === '10.96.0.10');
  t.match(listedWeb, { family: 2, protocol: TCP, port: 80, scheduler: 'rr', netmask: 32, timeout: 0 });
  t.ok((listedWeb?.flags ?? 0) & IpvsServiceFlags.hashed, 'kernel marks real services hashed');
  t.match(services.find((s) => s.address === '10.96.0.53'), { timeout: 10800 });
  t.ok((services.find((s) => s.address === '10.96.0.53')?.flags ?? 0) & IpvsServiceFlags.persistent);
  t.match(services.find((s) => s.family === 10), { address: 'fd00:96::7', protocol: SCTP, port: 7777, netmask: 128 });
  t.match(services.find((s) => s.fwmark !== undefined), { fwmark: 0x4000, family: 2 });

  const dests = await listIpvsDestinations(web, o);
  t.strictSame(dests.map((d) => `${d.address}:${d.port}/${d.weight}/${d.fwdMethod}`).sort(), [
    '10.244.1.2:8080/1/0',
    '10.244.2.2:8080/1/0',
  ]);
  t.match(await listIpvsDestinations(sctp6, o), [{ family: 10, address: 'fd00:244::3', port: 7777, weight: 3 }]);

  const ipvsadm = runIn(netns, ['ipvsadm', '-Ln']);
  if (ipvsadm.status === 0) {
    t.match(ipvsadm.stdout, /TCP\s+10\.96\.0\.10:80 rr/);
    t.match(ipvsadm.stdout, /10\.244\.2\.2:8080\s+Masq\s+1/);
    t.match(ipvsadm.stdout, /UDP\s+10\.96\.0\.53:53 rr persistent 10800/);
  }

  // Graceful termination in kube-proxy sets weight 0 before deleting a real server.
  const edit = await applyIpvs(
    [
      { op: 'editDestination', service: web, destination: { address: '10.244.2.2', port: 8080, weight: 0 } },
      { op: 'editService', service: { ...dns, scheduler: 'rr', flags: 0, timeout: 0 } },
      { op: 'deleteDestination', service: web, destination: { address: '10.244.1.2', port: 8080 } },
    ],
    o,
  );
  t.strictSame(edit.results, [{ ok: true }, { ok: true }, { ok: true }]);
  t.strictSame((await listIpvsDestinations(web, o)).map((d) => [d.address, d.weight]), [['10.244.2.2', 0]]);
  t.match((await listIpvsServices(o)).find((s) => s.address === '10.96.0.53'), { timeout: 0 });

  const del = await applyIpvs([{ op: 'deleteService', service: sctp6 }], o);
  t.ok(del.results[0]?.ok);
  t.equal((await listIpvsServices(o)).length, 3);
  await flushIpvs(o);
  t.strictSame(await listIpvsServices(o), []);
});

t.test('many services in few system calls', { skip }, async (t) => {
  const netns = await nodeLikeNamespace(t, 'ipvs-many');
  const ops = Array.from({ length: 3000 }, (_, i) => ({
    op: 'addService' as const,
    service: { protocol: TCP, address: `10.97.${i >> 8}.${i & 255}`, port: 80, scheduler: 'rr' },
  }));
  const r = await applyIpvs(ops, { netns });
  t.ok(r.results.every((x) => x.ok));
  t.ok(r.sendmsgCalls <= 2, `${r.sendmsgCalls} sendmsg calls for 3000 services`);
  t.equal((await listIpvsServices({ netns })).length, 3000);
});

t.test('kube-ipvs0: a dummy link holding service addresses', async (t) => {
  const netns = createNetns(t, 'ipvs-dummy');
  try {
    await addLink({ name: 'kube-ipvs0', kind: 'dummy' }, { netns });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EOPNOTSUPP') {
      t.pass('no dummy driver in this kernel: nothing more to check');
      return;
    }
    throw err;
  }
  await addAddress('kube-ipvs0', '10.96.0.10', 32, { netns });
  await addAddress('kube-ipvs0', 'fd00:96::10', 128, { netns, noDad: true });
  t.match(await getLink('kube-ipvs0', { netns }), { kind: 'dummy', up: false });
  t.strictSame(
    (await listAddresses({ netns, link: 'kube-ipvs0' })).map((a) => `${a.address}/${a.prefixLen}`).sort(),
    ['10.96.0.10/32', 'fd00:96::10/128'],
  );
  await deleteAddress('kube-ipvs0', '10.96.0.10', 32, { netns });
  t.strictSame((await listAddresses({ netns, link: 'kube-ipvs0', family: 'ipv4' })).length, 0);
});

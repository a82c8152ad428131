// IPVS on any kernel: the probe never throws when IPVS is absent, operations then fail cleanly,
// and the request encoding round-trips through the reply parsers (the attributes of a request are
// a subset of what the kernel sends back). The real-kernel test is test/vm/guest/native-ipvs.test.ts.
import t from 'tap';

import { applyIpvs, listIpvsServices, nativeTesting, probeIpvs } from '../../src/kernel/netlink.js';
import { createNetns } from '../support/native.js';

t.test('probe and operations without IPVS', async (t) => {
  const netns = createNetns(t, 'ipvs');
  const probe = await probeIpvs({ netns });
  if (probe.available) {
    t.pass('this kernel has IPVS; see test/vm/guest/native-ipvs.test.ts for the real-kernel test');
    return;
  }
  t.strictSame(probe, { available: false });
  await t.rejects(listIpvsServices({ netns }), { code: 'ENOENT', message: /IPVS is not available/ });
  await t.rejects(applyIpvs([{ op: 'flush' }], { netns }), { code: 'ENOENT' });
});

t.test('request encoding, read back with the reply parsers', async (t) => {
  const bytes = nativeTesting.encodeIpvs([
    { op: 'addService', service: { protocol: 6, address: '10.96.0.10', port: 8080, scheduler: 'wrr', flags: 1, timeout: 600 } },
    { op: 'addService', service: { protocol: 17, address: 'fd00::53', port: 53, netmask: 64 } },
    { op: 'addService', service: { family: 2, fwmark: 0x4000 } },
    { op: 'addDestination', service: { protocol: 6, address: '10.96.0.10', port: 8080 }, destination: { address: '10.244.0.5', port: 80, weight: 7, fwdMethod: 3, upperThreshold: 100 } },
  ]);
  const services = nativeTesting.parseReplies('ipvs:services', bytes);
  t.strictSame(services, [
    { family: 2, protocol: 6, address: '10.96.0.10', port: 8080, scheduler: 'wrr', flags: 1, timeout: 600, netmask: 32 },
    { family: 10, protocol: 17, address: 'fd00::53', port: 53, scheduler: 'rr', flags: 0, timeout: 0, netmask: 64 },
    { family: 2, fwmark: 0x4000, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
    // The destination command names its service by key only.
    { family: 2, protocol: 6, address: '10.96.0.10', port: 8080 },
  ]);
  const destinations = nativeTesting.parseReplies('ipvs:destinations', destinationMessages(bytes)) as unknown[];
  t.strictSame(destinations, [
    { family: 2, address: '10.244.0.5', port: 80, fwdMethod: 3, weight: 7, upperThreshold: 100, lowerThreshold: 0 },
  ]);
  t.throws(() => nativeTesting.encodeIpvs([{ op: 'addService', service: { protocol: 6, address: 'x', port: 1 } }]), TypeError);
  t.throws(() => nativeTesting.encodeIpvs([{ op: 'addService', service: { protocol: 6, address: '1.2.3.4', port: 70000 } }]), TypeError);
});

/** The messages of a request stream that carry a destination (the parser wants only those). */
function destinationMessages(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let at = 0; at + 16 <= bytes.length; ) {
    const len = view.getUint32(at, true);
    const cmd = bytes[at + 16];
    if (cmd === 5 /* IPVS_CMD_NEW_DEST */) out.push(...bytes.subarray(at, at + len));
    at += (len + 3) & ~3;
  }
  return new Uint8Array(out);
}

// The reply parsers on hostile input: real dumps (and hand-built messages for the families that
// cannot run here) truncated at every length, with random bytes flipped, with lying length
// fields, and pure noise. Every outcome must be a parsed value or an Error marked
// malformedReply; a crash would take the whole test process down.
import t from 'tap';

import { kubeProxyLayout } from '../../bench/native-layout.js';
import { applyNftJson, compileNftJson, nativeTesting, type NftJsonDocument } from '../../src/kernel/netlink.js';
import { encodeWire } from '../../src/kernel/nftables-wire.js';
import { constructsDocument, createNetns } from '../support/native.js';

/** A small deterministic PRNG (mulberry32) so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface Outcome {
  parsed: number;
  rejected: number;
}

function parseOnce(parser: string, bytes: Uint8Array, outcome: Outcome): void {
  try {
    nativeTesting.parseReplies(parser, bytes);
    outcome.parsed++;
  } catch (err) {
    const e = err as { malformedReply?: boolean; message?: string };
    if (e.malformedReply !== true) throw new Error(`${parser}: unexpected error kind: ${String(e.message)}`);
    outcome.rejected++;
  }
}

function mutate(seed: Uint8Array, rand: () => number): Uint8Array {
  const out = Uint8Array.from(seed);
  const edits = 1 + Math.floor(rand() * 8);
  for (let i = 0; i < edits && out.length > 0; i++) {
    const at = Math.floor(rand() * out.length);
    switch (Math.floor(rand() * 4)) {
      case 0:
        out[at] = Math.floor(rand() * 256);
        break;
      case 1:
        out[at] = (out[at] as number) ^ (1 << Math.floor(rand() * 8));
        break;
      case 2: {
        // A length field (u16 or u32, little endian) somewhere: make it lie.
        const lie = Math.floor(rand() * 70000);
        out[at] = lie & 0xff;
        if (at + 1 < out.length) out[at + 1] = (lie >> 8) & 0xff;
        break;
      }
      default:
        out[at] = 0;
    }
  }
  return rand() < 0.3 ? out.subarray(0, Math.floor(rand() * out.length)) : out;
}

function fuzz(parser: string, seeds: Uint8Array[], rounds: number, seed: number): Outcome {
  const outcome: Outcome = { parsed: 0, rejected: 0 };
  const rand = random(seed);
  for (const s of seeds) {
    parseOnce(parser, s, outcome);
    const step = Math.max(1, Math.floor(s.length / 400));
    for (let len = 0; len < s.length; len += step) parseOnce(parser, s.subarray(0, len), outcome);
    for (let i = 0; i < rounds; i++) parseOnce(parser, mutate(s, rand), outcome);
  }
  for (let i = 0; i < rounds; i++) {
    const noise = new Uint8Array(Math.floor(rand() * 2048));
    for (let j = 0; j < noise.length; j++) noise[j] = Math.floor(rand() * 256);
    // Half of the noise gets a plausible first header so that parsing goes deeper.
    if (noise.length >= 20 && rand() < 0.5) new DataView(noise.buffer).setUint32(0, noise.length, true);
    parseOnce(parser, noise, outcome);
  }
  return outcome;
}

// ---- hand-built replies (little-endian host headers, as the kernel sends them) ---------------------

class Writer {
  private bytes: number[] = [];
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >> 8);
  }
  be16(v: number): this {
    return this.u8(v >> 8).u8(v);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  be32(v: number): this {
    return this.be16(v >>> 16).be16(v & 0xffff);
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.u8(b[i] as number);
    return this;
  }
  pad(): this {
    while (this.bytes.length % 4) this.u8(0);
    return this;
  }
  attr(type: number, body: Writer | ArrayLike<number>, nested = false): this {
    const data = body instanceof Writer ? body.bytes : Array.from(body);
    this.u16(4 + data.length).u16(type | (nested ? 0x8000 : 0)).raw(data);
    return this.pad();
  }
  message(type: number, header: ArrayLike<number>, attrs: Writer, flags = 2 /* NLM_F_MULTI */): this {
    const payload = [...Array.from(header), ...attrs.bytes];
    this.u32(16 + payload.length).u16(type).u16(flags).u32(1).u32(1234).raw(payload);
    return this.pad();
  }
  done(): Uint8Array {
    return new Uint8Array(this.bytes);
  }
}

const str = (s: string) => [...new TextEncoder().encode(s), 0];

function linkDump(): Uint8Array {
  const ifinfo = new Writer().u8(0).u8(0).u16(1).u32(3).u32(0x1043).u32(0).done();
  const attrs = new Writer()
    .attr(3 /* IFLA_IFNAME */, str('kube-ipvs0'))
    .attr(4 /* IFLA_MTU */, new Writer().u32(1500))
    .attr(1 /* IFLA_ADDRESS */, [2, 0, 0, 0, 0, 1])
    .attr(18 /* IFLA_LINKINFO */, new Writer().attr(1 /* IFLA_INFO_KIND */, str('dummy')), true);
  return new Writer().message(16 /* RTM_NEWLINK */, ifinfo, attrs).message(3 /* NLMSG_DONE */, [0, 0, 0, 0], new Writer()).done();
}

function addressDump(): Uint8Array {
  const v4 = new Writer().message(20 /* RTM_NEWADDR */, [2, 32, 0x80, 0, 3, 0, 0, 0], new Writer().attr(2, [10, 96, 0, 1]).attr(1, [10, 96, 0, 1]).attr(3, str('kube-ipvs0')));
  const v6 = v4.message(20, [10, 128, 0, 0, 3, 0, 0, 0], new Writer().attr(1, [0xfd, 0, ...new Array<number>(13).fill(0), 1]).attr(8 /* IFA_FLAGS */, new Writer().u32(0x80)));
  return v6.done();
}

function conntrackDump(): Uint8Array {
  const tuple = (src: number[], dst: number[], sport: number, dport: number) =>
    new Writer()
      .attr(1 /* CTA_TUPLE_IP */, new Writer().attr(1, src).attr(2, dst), true)
      .attr(2 /* CTA_TUPLE_PROTO */, new Writer().attr(1, [17]).attr(2, new Writer().be16(sport)).attr(3, new Writer().be16(dport)), true);
  const attrs = new Writer()
    .attr(1 /* CTA_TUPLE_ORIG */, tuple([10, 0, 0, 1], [10, 96, 0, 10], 40000, 53), true)
    .attr(2 /* CTA_TUPLE_REPLY */, tuple([10, 0, 0, 2], [10, 0, 0, 1], 5353, 40000), true)
    .attr(3 /* CTA_STATUS */, new Writer().be32(0x188))
    .attr(7 /* CTA_TIMEOUT */, new Writer().be32(29))
    .attr(12 /* CTA_ID */, new Writer().be32(77));
  return new Writer().message((1 << 8) | 0 /* IPCTNL_MSG_CT_NEW */, [2, 0, 0, 0], attrs).done();
}

function ackStream(): Uint8Array {
  // An ACK, and an error with a capped request and extended-ack TLVs (message, offset).
  const ack = new Writer().u32(0).u32(16).u16(0).u16(0).u32(7).u32(0).done();
  const err = new Writer()
    .u32(-2 >>> 0)
    .u32(56)
    .u16(0xa06)
    .u16(5)
    .u32(8)
    .u32(0)
    .attr(1 /* NLMSGERR_ATTR_MSG */, str('no such chain'))
    .attr(2 /* NLMSGERR_ATTR_OFFS */, new Writer().u32(40))
    .done();
  return new Writer().message(2, ack, new Writer(), 0).message(2, err, new Writer(), 0x300 /* CAPPED|ACK_TLVS */).done();
}

t.test('parsers survive truncated, mutated and random replies', async (t) => {
  const netns = createNetns(t, 'fuzz');
  await applyNftJson(kubeProxyLayout({ family: 'ip', services: 6, endpointsPerService: 2, variety: true }), { netns });
  await applyNftJson(constructsDocument() as unknown as NftJsonDocument, { netns });
  const dump = (kind: 'tables' | 'chains' | 'sets' | 'rules') => nativeTesting.nftDumpRaw(kind, { netns });
  const elements = await Promise.all(
    ['service-ips', 'cluster-ips', 'no-endpoint-services'].map((set) =>
      nativeTesting.nftDumpRaw('elements', { netns, family: 'ip', table: 'kube-proxy', set }),
    ),
  );
  // IPVS requests carry the same attributes as the kernel's replies: they serve as seeds.
  const ipvsServices = nativeTesting.encodeIpvs([
    { op: 'addService', service: { protocol: 6, address: '10.96.0.10', port: 80, scheduler: 'rr', timeout: 30 } },
    { op: 'addService', service: { protocol: 17, address: 'fd00::1', port: 53 } },
  ]);
  const ipvsDestinations = nativeTesting.encodeIpvs([
    { op: 'addDestination', service: { protocol: 6, address: '10.96.0.10', port: 80 }, destination: { address: '10.244.0.2', port: 8080 } },
    { op: 'addDestination', service: { protocol: 6, address: '10.96.0.10', port: 80 }, destination: { address: 'fd00::2', port: 80, weight: 5 } },
  ]);
  const ipvsConfig = nativeTesting.encodeIpvs([{ op: 'setTimeouts', timeouts: { tcp: 1, tcpFin: 2, udp: 3 } }]);

  const cases: [string, Uint8Array[]][] = [
    ['nft:tables', [await dump('tables')]],
    ['nft:chains', [await dump('chains')]],
    ['nft:sets', [await dump('sets')]],
    ['nft:rules', [await dump('rules')]],
    ['nft:elements', elements],
    ['rtnl:links', [linkDump()]],
    ['rtnl:addresses', [addressDump()]],
    ['conntrack', [conntrackDump()]],
    ['ipvs:services', [ipvsServices]],
    ['ipvs:destinations', [ipvsDestinations]],
    ['ipvs:config', [ipvsConfig]],
    ['acks', [ackStream()]],
  ];
  // The seeds themselves must parse.
  for (const [parser, seeds] of cases) {
    for (const s of seeds) t.doesNotThrow(() => nativeTesting.parseReplies(parser, s), `${parser} seed parses`);
  }
  t.match(nativeTesting.parseReplies('conntrack', conntrackDump()), [
    { protocol: 17, orig: { src: '10.0.0.1', dst: '10.96.0.10', dstPort: 53 }, reply: { src: '10.0.0.2', srcPort: 5353 }, id: 77 },
  ]);
  t.match(nativeTesting.parseReplies('rtnl:links', linkDump()), [{ name: 'kube-ipvs0', kind: 'dummy', mtu: 1500 }]);
  t.match(nativeTesting.parseReplies('acks', ackStream()), [{ seq: 1, errno: 0 }, { seq: 1, errno: 2, message: 'no such chain', offset: 40 }]);

  let total = 0;
  cases.forEach(([parser, seeds], i) => {
    const outcome = fuzz(parser, seeds, 1500, 0x5eed + i);
    total += outcome.parsed + outcome.rejected;
    t.ok(outcome.rejected > 0, `${parser}: ${outcome.parsed} parsed, ${outcome.rejected} rejected as malformed`);
  });
  t.ok(total > 30000, `${total} inputs in all`);
});

t.test('the operation-buffer reader survives truncated and mutated buffers', async (t) => {
  const wire = encodeWire(compileNftJson(constructsDocument() as unknown as NftJsonDocument).ops);
  t.ok(nativeTesting.encodeWireBuffer(wire).messages > 50, 'the valid buffer encodes');
  const rand = random(0xc0ffee);
  let encoded = 0;
  let rejected = 0;
  const attempt = (bytes: Uint8Array) => {
    try {
      nativeTesting.encodeWireBuffer(bytes);
      encoded++;
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      rejected++;
    }
  };
  for (let len = 0; len < wire.length; len += Math.max(1, Math.floor(wire.length / 500))) attempt(wire.subarray(0, len));
  for (let i = 0; i < 3000; i++) attempt(mutate(wire, rand));
  t.ok(rejected > 0, `${encoded} encoded, ${rejected} rejected with a TypeError`);
});

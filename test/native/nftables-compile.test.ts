// The nft JSON compiler on its own (no kernel): register allocation, value encoding, interval
// elements, userdata and error messages.
import t from 'tap';

import { compileNftJson, NftCompileError } from '../../src/kernel/nftables-compile.js';
import { compileElements } from '../../src/kernel/nftables-compile-elements.js';
import {
  NftDatatypes,
  formatIPv6,
  keyTypeFromId,
  keyTypeOf,
  parseIPv6,
} from '../../src/kernel/nftables-datatypes.js';
import { decodeElements, knownSetFromListed } from '../../src/kernel/nftables-decode.js';
import { NfProto, NftSetElemFlags, registerForSlot, type NftIrExpr, type NftIrOp } from '../../src/kernel/nftables-ir.js';
import type { NftJsonStatement } from '../../src/kernel/nftables-json.js';
import { Udata, commentUdata, parseUdata, udataComment } from '../../src/kernel/nftables-udata.js';

function ruleExprs(family: 'ip' | 'ip6' | 'inet', expr: NftJsonStatement[]): NftIrExpr[] {
  const { ops } = compileNftJson({ nftables: [{ add: { rule: { family, table: 't', chain: 'c', expr } } }] });
  const rule = ops.find((o): o is NftIrOp & { op: 'newrule' } => o.op === 'newrule');
  return rule?.exprs ?? [];
}

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');

t.test('registers: 16-byte names when aligned, 32-bit names otherwise (as nft)', async (t) => {
  t.strictSame([0, 1, 3, 4, 5, 8, 15].map(registerForSlot), [1, 9, 11, 2, 13, 3, 23]);
  t.throws(() => registerForSlot(16), RangeError);
  const exprs = ruleExprs('ip6', [
    {
      vmap: {
        key: { concat: [{ payload: { protocol: 'ip6', field: 'daddr' } }, { meta: { key: 'l4proto' } }, { payload: { protocol: 'th', field: 'dport' } }] },
        data: '@m',
      },
    },
  ]);
  // ip6 daddr fills slots 0-3 (reg 1), l4proto slot 4 (reg 2), th dport slot 5 (reg 13).
  t.match(exprs, [
    { kind: 'payload', dreg: 1, offset: 24, len: 16 },
    { kind: 'meta', key: 16, dreg: 2 },
    { kind: 'payload', dreg: 13, base: 2, offset: 2, len: 2 },
    { kind: 'lookup', sreg: 1, set: 'm', dreg: 0 },
  ]);
});

t.test('prefix matches: byte-aligned prefixes load fewer bytes, others use a mask', async (t) => {
  const slash8 = ruleExprs('ip', [{ match: { op: '!=', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '10.0.0.0', len: 8 } } } }]);
  t.match(slash8, [{ kind: 'payload', len: 1, offset: 12 }, { kind: 'cmp', op: 1 }]);
  t.equal(hex((slash8[1] as { data: Uint8Array }).data), '0a');
  const slash25 = ruleExprs('ip', [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '203.0.113.0', len: 25 } } } }]);
  t.match(slash25, [{ kind: 'payload', len: 4 }, { kind: 'bitwise', len: 4 }, { kind: 'cmp', op: 0 }]);
  t.equal(hex((slash25[1] as { mask: Uint8Array }).mask), 'ffffff80');
  t.equal(hex((slash25[2] as { data: Uint8Array }).data), 'cb007100');
});

t.test('inet tables get nft\'s implicit protocol dependencies, once', async (t) => {
  const exprs = ruleExprs('inet', [
    { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '1.2.3.4' } },
    { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '5.6.7.8' } },
    { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 80 } },
    { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'sport' } }, right: 1024 } },
  ]);
  t.strictSame(
    exprs.map((e) => (e.kind === 'meta' ? `meta ${e.key}` : e.kind)),
    ['meta 15', 'cmp', 'payload', 'cmp', 'payload', 'cmp', 'meta 16', 'cmp', 'payload', 'cmp', 'payload', 'cmp'],
  );
});

t.test('one-element anonymous sets become comparisons; larger ones become anonymous sets', async (t) => {
  const one = ruleExprs('ip', [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { set: ['1.2.3.4'] } } }]);
  t.match(one, [{ kind: 'payload' }, { kind: 'cmp', op: 0 }]);
  const { ops } = compileNftJson({
    nftables: [
      {
        add: {
          rule: {
            family: 'ip',
            table: 't',
            chain: 'c',
            expr: [{ match: { op: '!=', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { set: [{ prefix: { addr: '10.0.0.0', len: 8 } }, { prefix: { addr: '11.0.0.0', len: 8 } }] } } }],
          },
        },
      },
    ],
  });
  t.strictSame(ops.map((o) => o.op), ['newset', 'newsetelem', 'newrule']);
  const [set, elems, rule] = ops as [NftIrOp & { op: 'newset' }, NftIrOp & { op: 'newsetelem' }, NftIrOp & { op: 'newrule' }];
  t.match(set, { name: '__set%d', flags: 0x7, keyType: 7, keyLen: 4, size: 3 });
  t.strictSame(parseUdata(set.userdata).get(Udata.set.mergeElements), new Uint8Array([1, 0, 0, 0]));
  // 10/8 and 11/8 are adjacent: merged into one range, after the 0.0.0.0 end marker nft adds.
  t.strictSame(
    elems.elements.map((e) => [hex(e.key), e.flags ?? 0]),
    [
      ['00000000', NftSetElemFlags.intervalEnd],
      ['0a000000', 0],
      ['0c000000', NftSetElemFlags.intervalEnd],
    ],
  );
  t.match(rule.exprs[1], { kind: 'lookup', set: '__set%d', setId: set.id, flags: 1 });
});

t.test('concatenated keys and types', async (t) => {
  const key = keyTypeOf([NftDatatypes.ipv4_addr, NftDatatypes.inet_proto, NftDatatypes.inet_service]);
  t.equal(key.id, 0x730d, 'the id nft stores for ipv4_addr . inet_proto . inet_service');
  t.equal(key.len, 12);
  t.strictSame(keyTypeFromId(0x730d, 12)?.parts.map((p) => p.name), ['ipv4_addr', 'inet_proto', 'inet_service']);
  t.equal(keyTypeFromId(0x730d, 9), undefined, 'a length that does not match is not guessed');
  const [elem] = compileElements({ key, interval: false, data: { kind: 'verdict' } }, [[{ concat: ['10.96.0.10', 'udp', 53] }, { goto: { target: 'svc' } }]], {
    forDelete: false,
    merge: false,
    firstSegment: false,
  });
  t.equal(hex(elem?.key), '0a60000a' + '11000000' + '00350000', 'members padded to 4 bytes, port big-endian');
  t.strictSame(elem?.verdict, { code: -4, chain: 'svc' });
});

t.test('interval elements: end marker, upper bound at the top of the range', async (t) => {
  const shape = { key: keyTypeOf([NftDatatypes.inet_service]), interval: true };
  const elems = compileElements(shape, [{ range: [65000, 65535] }, 0], { forDelete: false, merge: false, firstSegment: true });
  // 0 starts at zero: no end marker; 65535 is the top: no end element for that range.
  t.strictSame(
    elems.map((e) => [hex(e.key), e.flags ?? 0]),
    [
      ['0000', 0],
      ['0001', 1],
      ['fde8', 0],
    ],
  );
});

t.test('IPv6 text forms', async (t) => {
  for (const [text, canonical] of [
    ['::', '::'],
    ['::1', '::1'],
    ['fd00::', 'fd00::'],
    ['fd00:0:0:1::5', 'fd00:0:0:1::5'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:1.2.3.4', '::ffff:102:304'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ] as const) {
    t.equal(formatIPv6(parseIPv6(text)), canonical, text);
  }
  t.throws(() => parseIPv6('fd00::g'), { name: 'NftValueError' });
});

t.test('userdata', async (t) => {
  const ud = commentUdata(Udata.ruleComment, 'hello');
  t.equal(hex(ud), '000668656c6c6f00');
  t.equal(udataComment(ud, Udata.ruleComment), 'hello');
  t.throws(() => commentUdata(Udata.ruleComment, 'x'.repeat(129)), RangeError);
});

t.test('sets from the kernel back to JSON declarations and values', async (t) => {
  const listed = { family: NfProto.ipv4, table: 't', name: 'm', handle: 1, flags: 0x8 | 0x4, keyType: 0x730d, keyLen: 12, dataType: 0xffffff00, dataLen: 16 };
  t.strictSame(knownSetFromListed(listed), { family: 'ip', table: 't', name: 'm', type: ['ipv4_addr', 'inet_proto', 'inet_service'], flags: ['interval'], map: 'verdict' });
  t.equal(knownSetFromListed({ ...listed, keyType: 63 }), undefined, 'unknown datatypes are not guessed');
  t.strictSame(
    decodeElements({ ...listed, flags: 0x8 }, [
      { key: new Uint8Array([10, 96, 0, 10, 17, 0, 0, 0, 0, 53, 0, 0]), verdict: { code: -3, chain: 'x' }, userdata: commentUdata(Udata.setElemComment, 'c') },
    ]),
    [{ key: { concat: ['10.96.0.10', 'udp', 53] }, data: { jump: { target: 'x' } }, comment: 'c' }],
  );
});

t.test('errors name the command and the problem', async (t) => {
  const table = { family: 'ip' as const, table: 't' };
  const cases: [unknown, RegExp][] = [
    [{ add: { rule: { ...table, chain: 'c', expr: [{ log: {} }] } } }, /command #0 \(add rule ip t c\): statement #0: unsupported statement 'log'/],
    [{ add: { rule: { ...table, chain: 'c', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'ttl' } }, right: 1 } }] } } }, /unsupported payload field ip ttl/],
    [{ add: { rule: { ...table, chain: 'c', expr: [{ match: { op: '<', left: { meta: { key: 'mark' } }, right: 1 } }] } } }, /only supported for big-endian/],
    [{ add: { rule: { family: 'ip', table: 't', chain: 'c', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip6', field: 'saddr' } }, right: '::1' } }] } } }, /ip6 header match in a table of another family/],
    [{ add: { chain: { ...table, name: 'b', type: 'filter', hook: 'input' } } }, /base chain needs type, hook and prio/],
    [{ add: { set: { ...table, name: 's', type: 'ether_addr' } } }, /unsupported set key type 'ether_addr'/],
    [{ add: { set: { ...table, name: 's', type: 'ipv4_addr', elem: [{ prefix: { addr: '10.0.0.0', len: 8 } }] } } }, /need a set with the interval flag/],
    [{ add: { rule: { family: 'inet', table: 't', chain: 'c', expr: [{ dnat: { addr: '1.2.3.4' } }] } } }, /nat in an inet table needs "family"/],
    [{ replace: { rule: {} } }, /unsupported command/],
  ];
  for (const [cmd, message] of cases) {
    t.throws(() => compileNftJson({ nftables: [cmd as never] }), { name: 'NftCompileError', message }, String(message));
  }
  t.throws(() => compileNftJson({} as never), NftCompileError);
});

// Shared by the test/native/*.test.ts files (not a test itself): throw-away network namespaces
// and running commands inside them.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const created = new Set<string>();

// If the test process dies between creation and teardown, still remove what it made.
process.on('exit', () => {
  for (const name of created) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
});

/** Creates /var/run/netns/kptn-<pid>-<purpose>, removed in t.teardown (and at exit as a fallback). */
export function createNetns(t: Teardown, purpose: string): string {
  const name = `kptn-${process.pid}-${purpose}`;
  execFileSync('ip', ['netns', 'add', name]);
  created.add(name);
  t.teardown(() => {
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    created.delete(name);
  });
  return name;
}

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs argv inside the namespace (argument array, never a shell). Input goes through a temporary
 * file: Node's child stdin is a socketpair, and nft cannot open /dev/stdin on a socket (ENXIO).
 */
export function runIn(netns: string, argv: readonly string[], input?: string): CommandResult {
  const full = ['netns', 'exec', netns, ...argv];
  let dir: string | undefined;
  let fd: number | 'ignore' = 'ignore';
  try {
    if (input !== undefined) {
      dir = mkdtempSync(join(tmpdir(), 'kptn-'));
      const file = join(dir, 'input');
      writeFileSync(file, input);
      fd = openSync(file, 'r');
    }
    const r = spawnSync('ip', full, { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 30 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    if (typeof fd === 'number') closeSync(fd);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

export function runInChecked(netns: string, argv: readonly string[], input?: string): string {
  const r = runIn(netns, argv, input);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** `nft -j list ruleset` with handles removed and element lists sorted (hash order is random). */
export function normalizedRuleset(netns: string, opts: { dropObjectComments?: boolean } = {}): string[] {
  const json = JSON.parse(runInChecked(netns, ['nft', '-j', 'list', 'ruleset'])) as { nftables: Record<string, unknown>[] };
  return json.nftables
    .filter((o) => !('metainfo' in o))
    .map((o) => {
      const [kind, value] = Object.entries(o)[0] as [string, Record<string, unknown>];
      const copy: Record<string, unknown> = { ...value };
      delete copy.handle;
      if (opts.dropObjectComments && kind !== 'rule') delete copy.comment;
      if (Array.isArray(copy.elem)) copy.elem = copy.elem.map((e) => JSON.stringify(e)).sort();
      return JSON.stringify({ [kind]: copy });
    });
}

/** JSON.stringify that shows Uint8Arrays as plain arrays. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v));
}

/**
 * Constructs beyond kube-proxy's own layout that the compiler supports, each in the form
 * nft 1.0.6 accepts as JSON: inet dependencies, prefixes of every alignment, ranges, flag
 * matches, anonymous sets and maps (single, multi, interval, concatenated), value maps,
 * interval and concatenated-interval sets, timeouts, comments, nat variants, and
 * delete/flush commands after creation.
 */
export function constructsDocument(): { nftables: unknown[] } {
  const t = { family: 'inet', table: 'kptn-constructs' };
  const ip = (field: string) => ({ payload: { protocol: 'ip', field } });
  const ip6 = (field: string) => ({ payload: { protocol: 'ip6', field } });
  const th = (field: string) => ({ payload: { protocol: 'th', field } });
  const meta = (key: string) => ({ meta: { key } });
  const match = (left: unknown, right: unknown, op = '==') => ({ match: { op, left, right } });
  const accept = { accept: null };
  const rule = (chain: string, expr: unknown[], comment?: string) => ({
    add: { rule: { ...t, chain, expr, ...(comment ? { comment } : {}) } },
  });
  return {
    nftables: [
      { add: { table: { family: 'inet', name: t.table } } },
      { add: { chain: { ...t, name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } } },
      { add: { chain: { ...t, name: 'fwd', type: 'filter', hook: 'forward', prio: 10, policy: 'drop' } } },
      { add: { chain: { ...t, name: 'nat-out', type: 'nat', hook: 'output', prio: -100 } } },
      { add: { chain: { ...t, name: 'nat-post', type: 'nat', hook: 'postrouting', prio: 100 } } },
      { add: { chain: { ...t, name: 'helper' } } },
      { add: { chain: { ...t, name: 'doomed' } } },
      { add: { set: { ...t, name: 'ranges', type: 'ipv4_addr', flags: ['interval'], elem: [
        { prefix: { addr: '10.0.0.0', len: 8 } }, { range: ['192.168.1.10', '192.168.1.20'] }, '172.16.0.1',
      ] } } },
      { add: { set: { ...t, name: 'ranges6', type: 'ipv6_addr', flags: ['interval'], elem: [
        { prefix: { addr: 'fd00::', len: 108 } }, { prefix: { addr: '2001:db8::', len: 32 } },
      ] } } },
      { add: { set: { ...t, name: 'timed', type: 'ipv4_addr', flags: ['timeout'], timeout: 60, 'gc-interval': 5, size: 100 } } },
      { add: { element: { ...t, name: 'timed', elem: [{ elem: { val: '10.1.1.1', timeout: 30, comment: 'short' } }, '10.1.1.2'] } } },
      { add: { set: { ...t, name: 'dyn6', type: 'ipv6_addr', timeout: 600 } } },
      { add: { set: { ...t, name: 'dyn4', type: 'ipv4_addr', flags: ['timeout'] } } },
      { add: { set: { ...t, name: 'svc-port', type: ['ipv4_addr', 'inet_service'], flags: ['interval'], elem: [
        { concat: [{ prefix: { addr: '10.96.0.0', len: 12 } }, { range: [30000, 32767] }] },
        { concat: ['10.0.0.1', 80] },
      ] } } },
      { add: { map: { ...t, name: 'marks', type: 'ipv4_addr', map: 'mark', elem: [['10.2.0.1', 1], ['10.2.0.2', 2]] } } },
      { add: { map: { ...t, name: 'ports', type: 'inet_service', map: 'ipv4_addr', elem: [[53, '10.3.0.53']] } } },
      { add: { map: { ...t, name: 'nets', type: 'ipv4_addr', map: 'verdict', flags: ['interval'], elem: [
        [{ prefix: { addr: '10.4.0.0', len: 16 } }, { jump: { target: 'helper' } }],
        [{ prefix: { addr: '10.5.0.0', len: 16 } }, { drop: null }],
      ] } } },
      { add: { map: { ...t, name: 'by-proto', type: ['inet_proto', 'inet_service'], map: 'verdict', elem: [
        [{ concat: ['tcp', 22] }, accept], [{ concat: ['udp', 53] }, { goto: { target: 'helper' } }],
      ] } } },
      rule('in', [match(ip('saddr'), { prefix: { addr: '10.16.0.0', len: 12 } }), accept]),
      rule('in', [match(ip('saddr'), { prefix: { addr: '10.16.0.0', len: 20 } }), accept]),
      rule('in', [match(ip('saddr'), { prefix: { addr: '10.16.0.0', len: 16 } }, '!='), accept]),
      rule('in', [match(ip6('saddr'), { prefix: { addr: 'fd00::', len: 108 } }), accept]),
      rule('in', [match(ip6('saddr'), { prefix: { addr: 'fd00::', len: 64 } }), accept]),
      rule('in', [match(ip6('daddr'), { prefix: { addr: 'fd00:1::', len: 60 } }), accept]),
      rule('in', [match(th('dport'), { range: [1000, 2000] }), accept]),
      rule('in', [match(th('dport'), { range: [1000, 2000] }, '!='), accept]),
      rule('in', [match({ payload: { protocol: 'tcp', field: 'dport' } }, { range: [3000, 4000] }), accept]),
      rule('in', [match({ payload: { protocol: 'udp', field: 'sport' } }, 53), accept]),
      rule('in', [match(meta('l4proto'), 'tcp'), match({ payload: { protocol: 'tcp', field: 'dport' } }, 22), accept]),
      rule('in', [match(th('dport'), 1024, '<'), accept]),
      rule('in', [match(th('dport'), 30000, '>='), accept]),
      rule('in', [match({ ct: { key: 'state' } }, 'established', '!='), accept]),
      rule('in', [match({ ct: { key: 'state' } }, ['established', 'related'], 'in'), accept]),
      rule('in', [match({ ct: { key: 'state' } }, 'new'), accept]),
      rule('in', [match(meta('mark'), 16), accept]),
      rule('in', [match(meta('mark'), 17, '!='), accept]),
      rule('in', [match(meta('iifname'), 'lo'), accept]),
      rule('in', [match(ip('daddr'), '1.2.3.4'), { reject: { type: 'icmp', expr: 'admin-prohibited' } }]),
      rule('in', [match(ip6('daddr'), '::1'), { reject: { type: 'icmpv6', expr: 'port-unreachable' } }]),
      rule('in', [{ reject: { type: 'tcp reset' } }]),
      rule('in', [{ reject: null }]),
      rule('in', [match({ concat: [ip('daddr'), th('dport')] }, { set: [{ concat: ['1.2.3.4', 80] }] }), accept]),
      rule('in', [match(ip('saddr'), { set: ['1.2.3.4', '5.6.7.8'] }), accept]),
      rule('in', [match(ip('saddr'), { set: ['1.2.3.4', '5.6.7.8'] }, '!='), accept]),
      rule('in', [match(ip('saddr'), { set: ['9.9.9.9'] }), accept]),
      rule('in', [match(meta('l4proto'), { set: ['tcp', 'udp'] }), { return: null }]),
      rule('in', [match(ip6('saddr'), { set: ['fd00::1', 'fd00::2'] }), { return: null }]),
      rule('in', [match({ payload: { protocol: 'tcp', field: 'dport' } }, { set: [22, 80] }), accept]),
      rule('in', [match({ ct: { key: 'state' } }, { set: ['established', 'related'] }), accept]),
      rule('in', [match(meta('mark'), { set: [1, 2] }), accept]),
      rule('in', [match(ip('daddr'), { set: [{ prefix: { addr: '10.0.0.0', len: 8 } }, { prefix: { addr: '11.0.0.0', len: 8 } }] }), { drop: null }], 'merged'),
      rule('in', [match(ip('saddr'), { set: [{ prefix: { addr: '10.0.0.0', len: 8 } }, { prefix: { addr: '192.168.0.0', len: 16 } }, '172.16.0.1'] }), accept]),
      rule('in', [match(ip('saddr'), '@ranges'), accept]),
      rule('in', [match(ip('saddr'), '@ranges', '!='), { drop: null }]),
      rule('in', [match({ concat: [ip('daddr'), th('dport')] }, '@svc-port'), accept]),
      rule('in', [{ vmap: { key: ip('saddr'), data: '@nets' } }]),
      rule('in', [{ vmap: { key: { concat: [meta('l4proto'), th('dport')] }, data: '@by-proto' } }]),
      rule('in', [{ vmap: { key: { concat: [ip('daddr'), meta('l4proto'), th('dport')] }, data: { set: [
        [{ concat: ['10.0.0.1', 'tcp', 80] }, accept], [{ concat: ['10.0.0.2', 'udp', 53] }, { jump: { target: 'helper' } }],
      ] } } }]),
      rule('in', [{ vmap: { key: ip('saddr'), data: { set: [
        [{ prefix: { addr: '10.0.0.0', len: 8 } }, accept], [{ prefix: { addr: '192.168.0.0', len: 16 } }, { drop: null }],
      ] } } }]),
      rule('in', [{ vmap: { key: { numgen: { mode: 'inc', mod: 3, offset: 1 } }, data: { set: [
        [1, { goto: { target: 'helper' } }], [2, { jump: { target: 'helper' } }], [3, accept],
      ] } } }], 'round robin'),
      rule('in', [{ set: { op: 'update', elem: ip6('saddr'), set: '@dyn6' } }]),
      rule('in', [{ set: { op: 'add', elem: { elem: { val: ip('saddr'), timeout: 30 } }, set: '@dyn4' } }]),
      rule('in', [match(ip('saddr'), '@dyn4'), { counter: { packets: 0, bytes: 0 } }, accept]),
      rule('in', [match({ fib: { result: 'type', flags: ['daddr'] } }, 'local'), match(ip('daddr'), { prefix: { addr: '127.0.0.0', len: 8 } }, '!='), { counter: null }]),
      rule('in', [{ mangle: { key: meta('mark'), value: 16 } }]),
      rule('in', [{ mangle: { key: meta('mark'), value: { '|': [meta('mark'), 0x4000] } } }]),
      rule('in', [{ mangle: { key: { ct: { key: 'mark' } }, value: meta('mark') } }]),
      rule('in', [match({ '&': [meta('mark'), 0x4000] }, 0), { return: null }]),
      rule('in', [{ goto: { target: 'helper' } }], 'a rule comment with "quotes"'),
      rule('nat-out', [match(meta('l4proto'), 'tcp'), { dnat: { family: 'ip', addr: '1.2.3.4', port: 8080 } }]),
      rule('nat-out', [match(ip6('daddr'), 'fd00::10'), { dnat: { family: 'ip6', addr: 'fd00::5' } }]),
      rule('nat-post', [{ masquerade: null }]),
      rule('nat-post', [{ masquerade: { flags: ['random', 'persistent'] } }]),
      rule('nat-post', [match(ip('saddr'), '10.9.0.1'), { snat: { family: 'ip', addr: '10.0.0.1' } }]),
      rule('fwd', [match(ip('saddr'), '@ranges'), accept]),
      rule('helper', [{ counter: null }]),
      rule('doomed', [accept]),
      { delete: { element: { ...t, name: 'marks', elem: ['10.2.0.2'] } } },
      { flush: { set: { ...t, name: 'timed' } } },
      { add: { element: { ...t, name: 'timed', elem: [{ elem: { val: '10.1.1.3', comment: 'after flush' } }] } } },
      { flush: { chain: { ...t, name: 'doomed' } } },
      { delete: { chain: { ...t, name: 'doomed' } } },
      { create: { table: { family: 'ip', name: 'kptn-created' } } },
      { add: { chain: { family: 'ip', table: 'kptn-created', name: 'c' } } },
      { delete: { table: { family: 'ip', name: 'kptn-created' } } },
    ],
  };
}

/**
 * A second transaction on top of constructsDocument(): element updates to sets that exist only in
 * the kernel (the native path reads their types back), interval deletions, a map flush.
 */
export function constructsUpdateDocument(): { nftables: unknown[] } {
  const t = { family: 'inet', table: 'kptn-constructs' };
  return {
    nftables: [
      { delete: { element: { ...t, name: 'ranges', elem: ['172.16.0.1', { range: ['192.168.1.10', '192.168.1.20'] }] } } },
      { add: { element: { ...t, name: 'ranges', elem: [{ prefix: { addr: '100.64.0.0', len: 10 } }] } } },
      { delete: { element: { ...t, name: 'ranges6', elem: [{ prefix: { addr: '2001:db8::', len: 32 } }] } } },
      { delete: { element: { ...t, name: 'by-proto', elem: [{ concat: ['udp', 53] }] } } },
      { add: { element: { ...t, name: 'by-proto', elem: [[{ elem: { val: { concat: ['sctp', 9] }, comment: 'sctp' } }, { drop: null }]] } } },
      { delete: { element: { ...t, name: 'svc-port', elem: [{ concat: ['10.0.0.1', 80] }] } } },
      { flush: { map: { ...t, name: 'ports' } } },
      { add: { element: { ...t, name: 'ports', elem: [[443, '10.3.0.1']] } } },
      { add: { element: { ...t, name: 'timed', elem: [{ elem: { val: '10.1.1.9', timeout: 45 } }] } } },
    ],
  };
}

import t from 'tap';
import { moduleNameOfPath, parseModuleIndex, planModuleLoad } from '../../src/lab/vm/module-order.js';

// Shaped like Debian 6.1's modules.dep: every dependency, direct or not, listed after the colon.
const modulesDep = [
  'kernel/net/netfilter/ipvs/ip_vs_rr.ko: kernel/net/netfilter/ipvs/ip_vs.ko kernel/net/netfilter/nf_conntrack.ko kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko',
  'kernel/net/netfilter/ipvs/ip_vs.ko: kernel/net/netfilter/nf_conntrack.ko kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko',
  'kernel/net/netfilter/nf_conntrack.ko: kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko',
  'kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko:',
  'kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko:',
  'kernel/lib/libcrc32c.ko:',
  'kernel/crypto/crc32c_generic.ko:',
  'kernel/drivers/net/dummy.ko:',
  'kernel/arch/x86/crypto/crc32c-intel.ko:',
  '',
].join('\n');
const modulesBuiltin = 'kernel/net/ipv6/ipv6.ko\nkernel/net/unix/unix.ko\n';

t.test('module names come from file names, with - and _ treated alike', async (t) => {
  t.equal(moduleNameOfPath('kernel/net/netfilter/ipvs/ip_vs_rr.ko'), 'ip_vs_rr');
  t.equal(moduleNameOfPath('kernel/arch/x86/crypto/crc32c-intel.ko.xz'), 'crc32c_intel');
});

t.test('dependencies come before the modules that need them, requested order kept otherwise', async (t) => {
  const index = parseModuleIndex(modulesDep, modulesBuiltin);
  const plan = planModuleLoad(index, ['crc32c_generic', 'ip_vs_rr', 'dummy', 'ip_vs', 'crc32c-intel']);
  const names = plan.order.map((module) => module.name);
  t.same(names, [
    'crc32c_generic',
    'nf_defrag_ipv6',
    'nf_defrag_ipv4',
    'libcrc32c',
    'nf_conntrack',
    'ip_vs',
    'ip_vs_rr',
    'dummy',
    'crc32c_intel',
  ]);
  t.equal(new Set(names).size, names.length, 'each module once');
  t.equal(plan.order.find((module) => module.name === 'ip_vs')?.path, 'kernel/net/netfilter/ipvs/ip_vs.ko');
});

t.test('built-in and absent modules are reported, not loaded', async (t) => {
  const plan = planModuleLoad(parseModuleIndex(modulesDep, modulesBuiltin), ['ipv6', 'nft_counter', 'dummy']);
  t.same(plan.builtin, ['ipv6']);
  t.same(plan.missing, ['nft_counter']);
  t.same(
    plan.order.map((module) => module.name),
    ['dummy'],
  );
});

t.test('a dependency cycle is an error rather than a hang', async (t) => {
  const index = parseModuleIndex('a.ko: b.ko\nb.ko: a.ko\n', '');
  t.throws(() => planModuleLoad(index, ['a']), /cycle/);
});

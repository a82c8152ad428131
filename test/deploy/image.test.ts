// The container image without a container engine: the build script into a temporary prefix, the
// staged tree running the proxy, the entrypoint's iptables backend detection with stand-in
// binaries, the runtime package list, and the Dockerfile's references.
import t, { type Test } from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

const script = (name: string) => join(REPO, 'scripts/image', name);

t.test('build.sh stages a runnable tree with production dependencies only', async (t) => {
  const prefix = mkdtempSync(join(tmpdir(), 'kpts-image-'));
  t.teardown(() => rmSync(prefix, { recursive: true, force: true }));
  // The repository is already installed and built (npm test builds first): no npm ci here.
  const r = spawnSync('bash', [script('build.sh'), REPO, prefix], { env: { ...process.env, KPTS_SKIP_NPM_CI: '1' }, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const app = join(prefix, 'opt/kube-proxy-ts');
  for (const path of ['package.json', 'binding.gyp', 'dist/src/cli/main.js', 'dist/src/tools/per-node-jobs.js', 'dist/src/tools/sync-latency-benchmark.js', 'dist/src/tools/assert-no-proxy.js']) {
    t.ok(existsSync(join(app, path)), path);
  }
  t.ok(readdirSync(join(app, 'build/Release')).some((f) => f.endsWith('.node')), 'the native module');
  t.notOk(existsSync(join(app, 'dist/test')), 'no tests in the image');
  const modules = readdirSync(join(app, 'node_modules'));
  for (const dep of ['@kubernetes', 'pino', 'prom-client', 'yaml', 'node-gyp-build']) t.ok(modules.includes(dep), `production dependency ${dep}`);
  for (const dev of ['tap', 'typescript', 'node', 'kubernetes-models']) t.notOk(modules.includes(dev), `no devDependency ${dev}`);
  const node = join(prefix, 'usr/local/bin/node');
  t.match(execFileSync(node, ['--version'], { encoding: 'utf8' }), /^v24\./, 'Node 24');
  for (const bin of ['kube-proxy-ts', 'kube-proxy-ts-entrypoint']) t.ok(existsSync(join(prefix, 'usr/local/bin', bin)), bin);
  t.match(readFileSync(join(prefix, 'usr/local/bin/kube-proxy-ts'), 'utf8'), /exec \/usr\/local\/bin\/node \/opt\/kube-proxy-ts\/dist\/src\/cli\/main\.js "\$@"/);

  // The staged tree alone (its own node_modules, its own Node) computes a rule set.
  const manifests = join(prefix, 'manifests');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'svc.yaml'), readFileSync(join(REPO, 'test/deploy/fixtures/manifests/services.yaml')));
  const dry = spawnSync(node, [join(app, 'dist/src/cli/main.js'), '--dry-run', `--manifests=${manifests}`, '--hostname-override=node-a'], { encoding: 'utf8' });
  t.equal(dry.status, 0, dry.stderr);
  t.match(dry.stdout, /-A KUBE-SERVICES .*default\/web:http cluster IP/);
  const help = spawnSync(node, [join(app, 'dist/src/tools/per-node-jobs.js')], { encoding: 'utf8' });
  t.equal(help.status, 2, 'the fan-out tool starts and asks for its flags');
});

/** A directory of stand-in iptables-*-save commands printing canned output, and a stand-in node. */
function fakeTools(t: Test, saves: Record<string, string>): { env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'kpts-fake-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const tool of ['iptables-nft-save', 'ip6tables-nft-save', 'iptables-legacy-save', 'ip6tables-legacy-save']) {
    const file = join(dir, tool);
    writeFileSync(file, `#!/bin/sh\ncat <<'OUT'\n${saves[tool] ?? ''}\nOUT\n`);
    chmodSync(file, 0o755);
  }
  const node = join(dir, 'node');
  writeFileSync(node, '#!/bin/sh\nfor a in "$@"; do echo "arg:$a"; done\n');
  chmodSync(node, 0o755);
  return { env: { ...process.env, PATH: `${dir}:/usr/bin:/bin`, KUBE_PROXY_TS_NODE: node, KUBE_PROXY_TS_MAIN: '/main.js' } };
}

const entry = (env: NodeJS.ProcessEnv, args: string[]) => {
  const r = spawnSync('sh', [script('entrypoint.sh'), ...args], { env, encoding: 'utf8' });
  return { status: r.status, args: r.stdout.split('\n').filter((l) => l.startsWith('arg:')).map((l) => l.slice(4)), stderr: r.stderr };
};

t.test('entrypoint: picks the iptables backend the kubelet uses, like iptables-wrapper', async (t) => {
  const hint = '*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT';
  const canary = '*filter\n:KUBE-KUBELET-CANARY - [0:0]\nCOMMIT';
  const cases: [string, Record<string, string>, string][] = [
    ['hint in nft mangle', { 'iptables-nft-save': hint, 'iptables-legacy-save': '*filter\n-A INPUT -j ACCEPT\n-A INPUT -j ACCEPT' }, 'nft'],
    ['hint in ip6tables-nft only', { 'ip6tables-nft-save': hint }, 'nft'],
    ['kubelet canary in legacy', { 'iptables-legacy-save': canary }, 'legacy'],
    ['no hint, more legacy rules', { 'iptables-legacy-save': '*filter\n-A INPUT -j ACCEPT\n-A FORWARD -j ACCEPT', 'iptables-nft-save': '*filter\n-A INPUT -j ACCEPT' }, 'legacy'],
    ['a fresh node', {}, 'nft'],
  ];
  for (const [name, saves, want] of cases) {
    const r = entry(fakeTools(t, saves).env, ['--config=/c']);
    t.equal(r.status, 0, name);
    t.same(r.args, ['/main.js', '--config=/c', `--iptables-backend=${want}`], name);
  }
  const sub = entry(fakeTools(t, {}).env, ['audit', '--attempts=3']);
  t.same(sub.args, ['/main.js', 'audit', '--attempts=3', '--iptables-backend=nft'], 'a subcommand stays first');
  const explicit = entry(fakeTools(t, { 'iptables-legacy-save': canary }).env, ['--cleanup', '--iptables-backend=nft']);
  t.same(explicit.args, ['/main.js', '--cleanup', '--iptables-backend=nft'], 'an explicit flag wins, no detection');
  const forced = entry({ ...fakeTools(t, {}).env, KUBE_PROXY_TS_IPTABLES_BACKEND: 'legacy' }, []);
  t.same(forced.args, ['/main.js', '--iptables-backend=legacy']);
  const bad = entry({ ...fakeTools(t, {}).env, KUBE_PROXY_TS_IPTABLES_BACKEND: 'xtables' }, []);
  t.equal(bad.status, 2);
});

t.test('runtime packages: every tool the proxy calls comes from a listed Debian package', async (t) => {
  const listed = execFileSync('sh', [script('install-runtime.sh')], { env: { ...process.env, KPTS_PRINT_PACKAGES: '1' }, encoding: 'utf8' }).trim().split(/\s+/);
  const providers: Record<string, string> = {
    'iptables-restore': 'iptables', 'iptables-nft-save': 'iptables', 'iptables-legacy-save': 'iptables', 'ip6tables-restore': 'iptables',
    nft: 'nftables', ipset: 'ipset', conntrack: 'conntrack', ip: 'iproute2', modprobe: 'kmod', tini: 'tini',
  };
  for (const [tool, pkg] of Object.entries(providers)) t.ok(listed.includes(pkg), `${tool} from ${pkg}`);
  // Debian's archive has them (this machine is Debian 12, the image's release).
  const policy = spawnSync('apt-cache', ['policy', ...listed], { encoding: 'utf8' });
  if (policy.status !== 0) {
    t.comment('apt-cache is not available: archive check skipped');
    return;
  }
  for (const pkg of listed) t.match(policy.stdout, new RegExp(`^${pkg.replace('+', '\\+')}:\\n\\s+Installed: .*\\n\\s+Candidate: (?!\\(none\\))`, 'm'), `${pkg} is in the archive`);
});

t.test('Dockerfile: same distro in both stages, scripts it calls exist, tini entrypoint, labels', async (t) => {
  const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  const froms = [...text.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gm)].map((m) => m[1]!);
  t.same(froms, ['debian:${DEBIAN_RELEASE}', 'debian:${DEBIAN_RELEASE}-slim'], 'one Debian release for builder and runtime');
  t.match(text, /^ARG DEBIAN_RELEASE=bookworm$/m);
  for (const m of text.matchAll(/^COPY (?!--from)(.+) (\S+)$/gm)) {
    for (const source of m[1]!.split(' ')) t.ok(existsSync(join(REPO, source)), `COPY source ${source} exists`);
  }
  for (const m of text.matchAll(/scripts\/image\/([\w.-]+\.sh)/g)) t.ok(existsSync(script(m[1]!)), `${m[1]} exists`);
  t.match(text, /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/usr\/local\/bin\/kube-proxy-ts-entrypoint"\]$/m);
  for (const label of ['title', 'description', 'version', 'revision', 'licenses', 'base.name']) t.match(text, new RegExp(`org\\.opencontainers\\.image\\.${label.replace('.', '\\.')}=`));
  t.notMatch(text, /curl|wget|https?:\/\//, 'no downloads besides apt and npm');
  const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8');
  for (const kept of ['package.json', 'package-lock.json', '.npmrc', 'binding.gyp', 'tsconfig.json', 'native/', 'src/', 'scripts/image/']) t.match(ignore, `!${kept}`);
  t.match(ignore, /\*\*\/node_modules/);
});

t.test('shell scripts of the image pass shellcheck', async (t) => {
  const r = spawnSync('shellcheck', [script('build.sh'), script('install-runtime.sh'), script('entrypoint.sh')], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout + r.stderr);
});

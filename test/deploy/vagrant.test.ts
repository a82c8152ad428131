// vagrant/ cannot boot VMs here: it is checked statically. shellcheck on every provisioning and
// helper script, `vagrant validate` for each mode (Debian's vagrant works offline; skipped with
// the reason when it is not installed), and the facts the cluster depends on.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const VAGRANT = join(REPO, 'vagrant');
const scripts = [
  ...readdirSync(join(VAGRANT, 'provision')).map((f) => join(VAGRANT, 'provision', f)),
  join(VAGRANT, 'compare-modes.sh'),
  join(REPO, 'deploy/jobs/run-on-every-node.sh'),
];

t.test('shellcheck: provisioning and helper scripts', async (t) => {
  const r = spawnSync('shellcheck', ['-x', ...scripts], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout + r.stderr);
});

t.test('vagrant validate, for each proxy mode', async (t) => {
  if (spawnSync('vagrant', ['--version']).status !== 0) {
    t.comment('skipped: vagrant is not installed (scripts/ensure-host-packages.sh installs Debian\'s)');
    return;
  }
  for (const mode of ['iptables', 'ipvs', 'nftables']) {
    const r = spawnSync('vagrant', ['validate', '--ignore-provider'], { cwd: VAGRANT, env: { ...process.env, KPTS_PROXY_MODE: mode }, encoding: 'utf8', timeout: 120_000 });
    t.equal(r.status, 0, `${mode}: ${r.stdout}${r.stderr}`);
    t.match(r.stdout, /validated successfully/);
    for (const node of ['cp', 'w1', 'w2', 'w3']) t.match(r.stdout, `kpts-${mode}-${node}`, `${mode}: VM ${node}`);
  }
  const bad = spawnSync('vagrant', ['validate', '--ignore-provider'], { cwd: VAGRANT, env: { ...process.env, KPTS_PROXY_MODE: 'userspace' }, encoding: 'utf8', timeout: 120_000 });
  t.not(bad.status, 0, 'an unknown mode is refused');
});

t.test('what the cluster relies on', async (t) => {
  const vagrantfile = readFileSync(join(VAGRANT, 'Vagrantfile'), 'utf8');
  t.match(vagrantfile, /config\.vm\.box = "debian\/bookworm64"/, 'Debian 12');
  t.match(vagrantfile, /provider :libvirt/);
  t.match(vagrantfile, /provider :virtualbox/);
  t.match(vagrantfile, /ENV\.fetch\("KPTS_PROXY_MODE", "iptables"\)/, 'the mode comes from the environment');
  for (const m of vagrantfile.matchAll(/path: "(provision\/[\w.-]+)"/g)) t.ok(existsSync(join(VAGRANT, m[1]!)), `${m[1]} exists`);
  const cp = readFileSync(join(VAGRANT, 'provision/control-plane.sh'), 'utf8');
  t.match(cp, /--skip-phases=addon\/kube-proxy/, 'kubeadm installs no kube-proxy');
  t.match(cp, /kubectl apply -k "\$overlay"/, 'our DaemonSet is deployed');
  t.match(cp, /resources:\n\s+- \.\.\/\.\.\/vagrant\/\$\{variant\}/, 'from the checked-in manifests');
  t.ok(existsSync(join(REPO, 'deploy/overlays/privileged/kustomization.yaml')));
  const compare = readFileSync(join(VAGRANT, 'compare-modes.sh'), 'utf8');
  t.match(compare, /modes=\(iptables ipvs nftables\)/);
  t.match(compare, /run-benchmark\.sh/);
  const common = readFileSync(join(VAGRANT, 'provision/common.sh'), 'utf8');
  t.notMatch(common + cp, /https?:\/\//, 'no repository host written down: KUBERNETES_APT_BASE supplies it');
  // The summary keys compare-modes.sh prints are the ones the benchmark writes.
  const bench = readFileSync(join(REPO, 'src/tools/sync-latency-benchmark.ts'), 'utf8');
  const keys = compare.match(/split\("([^"]+)"/)![1]!.split(' ');
  for (const key of keys) t.match(bench, `\`${key}=`, `the benchmark prints ${key}`);
});

// The per-node Jobs and the DaemonSet's privileges against a real kernel, in a lab node (root
// only; nothing touches this machine's own namespace):
//   - the proxy syncs with exactly the DaemonSet's capabilities, and NET_RAW is what legacy needs;
//   - the migration Job's steps remove upstream kube-proxy's iptables and nftables leftovers in
//     both backends and leave the kubelet's chains alone; its guard refuses while a proxy runs.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { World } from '../support/e2e/world.js';
import { readYamlFile, type KubeObject } from './fixtures/kustomize-lite.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const ds = readYamlFile(join(REPO, 'deploy/daemonset.yaml'))[0]!;
const migrate = readYamlFile(join(REPO, 'deploy/jobs/migrate-from-kube-proxy.yaml'))[0]!;
const dsCaps = (ds.spec.template.spec.containers[0].securityContext.capabilities.add as string[]).map((c) => `cap_${c.toLowerCase()}`);

/** setpriv argv that leaves a root process exactly these capabilities (as drop ALL + add does). */
const withCaps = (caps: readonly string[], argv: readonly string[]) => {
  const set = ['-all', ...caps.map((c) => `+${c.replace(/^cap_/, '')}`)].join(',');
  return ['setpriv', `--inh-caps=${set}`, `--ambient-caps=${set}`, `--bounding-set=${set}`, '--', ...argv];
};

async function withService(world: World): Promise<void> {
  const [pod] = await world.lab.addPods([{ name: 'web-1', node: 'node1' }]);
  world.write('services', [
    world.service('web', { type: 'NodePort', clusterIP: world.lab.serviceIp(1), ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30080 }] }),
    world.slice('web', [pod!], [{ name: 'http', port: 80, targetPort: 8080 }]),
  ]);
}

t.test("the DaemonSet's capabilities are enough, and each is needed", async (t) => {
  t.same(dsCaps, ['cap_net_admin', 'cap_net_raw']);
  const world = await World.create(t, { mode: 'iptables' });
  await withService(world);
  const once = (caps: readonly string[], backend: string) =>
    world.lab.exec('node1', withCaps(caps, world.proxyArgv(['--once', `--iptables-backend=${backend}`, '--iptables-localhost-nodeports=false'])), { allowFailure: true, timeoutMs: 60_000 });
  for (const backend of ['nft', 'legacy']) {
    const r = await once(dsCaps, backend);
    t.equal(r.code, 0, `${backend} with ${dsCaps.join('+')}: ${r.stderr.slice(-1500)}`);
  }
  const nftOnly = await once(['cap_net_admin'], 'nft');
  t.equal(nftOnly.code, 0, 'iptables-nft needs NET_ADMIN only');
  const legacyOnly = await once(['cap_net_admin'], 'legacy');
  t.not(legacyOnly.code, 0, 'iptables-legacy fails without NET_RAW');
  t.match(legacyOnly.stderr, /Permission denied|iptables/);
});

t.test("the migration Job's steps remove kube-proxy's leftovers, in both backends", async (t) => {
  const world = await World.create(t, { mode: 'iptables' });
  await withService(world);
  const exec = (argv: string[]) => world.lab.exec('node1', argv, { allowFailure: true, timeoutMs: 60_000 });

  // kube-proxy's state: its iptables mode writes the same chains as ours (same names, same
  // hashes), in whichever backend the node uses; here both, plus nftables mode's tables.
  for (const backend of ['nft', 'legacy']) t.equal((await world.runProxyOnce(['--once', `--iptables-backend=${backend}`])).code, 0, `leftovers in ${backend}`);
  for (const family of ['ip', 'ip6']) {
    await exec(['nft', 'add', 'table', family, 'kube-proxy']);
    await exec(['nft', 'add', 'chain', family, 'kube-proxy', 'services']);
  }
  // The kubelet's chains, which must survive.
  for (const table of ['mangle', 'nat', 'filter']) await exec(['iptables-nft', '-t', table, '-N', 'KUBE-KUBELET-CANARY']);
  await exec(['iptables-nft', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT']);

  const spec = migrate.spec.template.spec;
  const [guard, ...cleanups] = [...spec.initContainers, ...spec.containers] as KubeObject[];

  // The guard refuses while a proxy runs on the node.
  const guardArgv = [process.execPath, join(REPO, 'dist/src/tools/assert-no-proxy.js'), ...guard!.args];
  t.equal(guard!.command[1], '/opt/kube-proxy-ts/dist/src/tools/assert-no-proxy.js');
  await world.startProxy();
  const refused = await exec(guardArgv);
  t.equal(refused.code, 1, 'refused while the proxy answers on 10256');
  t.match(refused.stdout, /a proxy still runs on this node/);
  await world.stopProxy();
  t.equal((await exec(guardArgv)).code, 0, 'allowed once it is gone');

  for (const step of cleanups) {
    const argv = [process.execPath, join(REPO, 'dist/src/cli/main.js'), ...step.args];
    const r = await exec(argv);
    t.equal(r.code, 0, `${step.name}: ${r.stderr.slice(-1500)}`);
  }

  const kubelet = new Set(['KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT', 'KUBE-FIREWALL']);
  for (const save of ['iptables-nft-save', 'ip6tables-nft-save', 'iptables-legacy-save', 'ip6tables-legacy-save']) {
    const text = (await exec([save])).stdout;
    const chains = [...text.matchAll(/^:(KUBE-\S+)/gm)].map((m) => m[1]!);
    t.same(chains.filter((c) => !kubelet.has(c)), [], `${save}: no kube-proxy chain left`);
    t.notMatch(text, /-j KUBE-(SERVICES|NODEPORTS|POSTROUTING|EXTERNAL-SERVICES|FORWARD|PROXY-FIREWALL)\b/, `${save}: no jump left`);
  }
  t.ok((await exec(['iptables-nft-save', '-t', 'mangle'])).stdout.includes(':KUBE-IPTABLES-HINT'), "the kubelet's hint chain stays");
  t.notMatch((await exec(['nft', 'list', 'tables'])).stdout, /kube-proxy/, 'nftables mode tables gone');
});

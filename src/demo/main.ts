/**
 * `npm run demo`: a Service with three pods in a throw-away network-namespace lab, the proxy
 * programming the kernel, real traffic split per pod, the service's path through the chains, an
 * endpoint removed live and traffic re-balancing, then everything removed again.
 */
import { LabCluster } from '../lab/cluster.js';
import { countByPod, summarize, type PodInfo } from '../lab/index.js';
import type { ProxyMode } from '../sync/proxier.js';
import { PROXY_MODES } from '../sync/proxier.js';
import { showServicePath } from './service-path.js';

const REQUESTS = 300;
const HTTP = [{ name: 'http', port: 80, targetPort: 8080 }];

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const step = (n: number, s: string): void => say(`\n${bold(`${n}. ${s}`)}`);

function parseMode(argv: readonly string[]): ProxyMode {
  const flag = argv.find((a) => a.startsWith('--proxy-mode='));
  const mode = (flag?.split('=')[1] ?? 'iptables') as ProxyMode;
  if (!PROXY_MODES.includes(mode)) throw new Error(`unknown proxy mode ${mode}`);
  return mode;
}

function bar(n: number, total: number): string {
  return '#'.repeat(Math.round((n / total) * 40));
}

async function sendAndShow(cluster: LabCluster, from: string, ip: string, pods: readonly PodInfo[]): Promise<void> {
  const results = await cluster.lab.http(from, ip, 80, { count: REQUESTS, concurrency: 16 });
  const s = summarize(results);
  const byPod = countByPod(results);
  say(`   ${REQUESTS} HTTP requests from pod "${from}" to ${ip}:80 -> ${s.ok} answered, ${s.failed} failed`);
  for (const p of pods) {
    const n = byPod[p.name] ?? 0;
    say(`   ${p.name.padEnd(6)} ${p.ip.padEnd(12)} ${String(n).padStart(4)}  ${bar(n, REQUESTS)}`);
  }
}

export async function runDemo(argv: readonly string[]): Promise<void> {
  const mode = parseMode(argv);
  const started = Date.now();
  say(bold(`kube-proxy-ts demo (${mode} mode)`));
  step(1, 'Building a lab: two node namespaces, a client, and pods routed from their node');
  const cluster = await LabCluster.create({ mode, lab: { families: ['IPv4'] } });
  try {
    const pods = await cluster.lab.addPods([
      { name: 'web-1', node: 'node1' },
      { name: 'web-2', node: 'node1' },
      { name: 'web-3', node: 'node2' },
    ]);
    const clientPod = await cluster.lab.addPod({ name: 'curl', node: 'node1', tcpPorts: [], serve: false });
    say(`   node1 ${cluster.lab.nodeIp('node1')}   node2 ${cluster.lab.nodeIp('node2')}`);
    for (const p of pods) say(`   pod ${p.name} ${p.ip} on ${p.node}, answers with its name on :8080`);

    step(2, 'Writing a Service "web" (ClusterIP) and its EndpointSlice as Kubernetes YAML');
    const clusterIP = cluster.lab.serviceIp(10);
    const service = cluster.service('web', { clusterIP, ports: HTTP });
    cluster.write('web', [service, cluster.slice('web', pods, HTTP)]);
    say(`   ${cluster.dir}/web.yaml: Service default/web ${clusterIP}:80 -> 3 endpoints on :8080`);

    step(3, `Starting kube-proxy-ts in node1 (--proxy-mode=${mode} --manifests=${cluster.dir})`);
    await cluster.startProxy();
    await cluster.waitFor(async () => summarize(await cluster.lab.http('curl', clusterIP, 80)).ok === 1, 'the service to answer');
    say('   synced; /healthz on :10256 and /metrics on 127.0.0.1:10249 are up');

    step(4, 'Sending traffic to the ClusterIP: the kernel spreads it over the three pods');
    await sendAndShow(cluster, clientPod.name, clusterIP, pods);

    step(5, "The service's path through the rules, as kube-proxy users know it");
    for (const line of await showServicePath(cluster, mode, clusterIP)) say(`   ${line}`);

    step(6, 'Removing web-2 from the EndpointSlice (as when a pod goes away)');
    cluster.write('web', [service, cluster.slice('web', pods.filter((p) => p.name !== 'web-2'), HTTP)]);
    await cluster.waitForSync();
    await cluster.waitFor(async () => !(countByPod(await cluster.lab.http('curl', clusterIP, 80, { count: 20 }))['web-2']), 'web-2 to leave');
    await sendAndShow(cluster, clientPod.name, clusterIP, pods);

    step(7, 'Stopping the proxy and removing its rules (--cleanup)');
    await cluster.stopProxy();
    const cleanup = await cluster.runProxyOnce(['--cleanup']);
    say(`   --cleanup exited with ${cleanup.code}`);
  } finally {
    step(8, 'Removing the lab (namespaces, processes)');
    await cluster.destroy();
  }
  say(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

runDemo(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

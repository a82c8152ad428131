// src/tools: the fan-out, the benchmark and the Jobs' guard, against fake APIs; their flags as
// the manifests pass them.
import t from 'tap';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readYamlFile, type KubeObject as Obj } from './fixtures/kustomize-lite.js';
import { assertNoProxy } from '../../src/tools/assert-no-proxy.js';
import { fanOut, perNodeJobsMain, type FanOutApi } from '../../src/tools/per-node-jobs.js';
import { nodeJob, RUN_LABEL, NODE_ANNOTATION, type KubeObject } from '../../src/tools/per-node-plan.js';
import { benchmarkMain, formatFigures, runBenchmark, NETWORK_PROGRAMMING, SYNC_DURATION, type BenchApi } from '../../src/tools/sync-latency-benchmark.js';
import { histogramDelta, histogramOf, histogramQuantile } from '../../src/tools/histogram.js';
import { parsePrometheusText } from '../../src/tools/prom-text.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const template = readYamlFile(join(REPO, 'deploy/rule-audit/audit-node-job.yaml'))[0]! as KubeObject;

t.test('nodeJob: pinned to the node, named from the template, image and owner replaced', async (t) => {
  const job = nodeJob(template, { node: 'w1', runId: 'r1', image: 'reg/kpts:9', owner: { apiVersion: 'batch/v1', kind: 'Job', name: 'rule-audit-1', uid: 'u' } }) as Obj;
  t.equal(job.metadata.generateName, 'rule-audit-node-');
  t.notOk(job.metadata.name);
  t.equal(job.metadata.labels[RUN_LABEL], 'r1');
  t.equal(job.metadata.annotations[NODE_ANNOTATION], 'w1');
  t.same(job.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'Job', name: 'rule-audit-1', uid: 'u', controller: false, blockOwnerDeletion: false }]);
  t.equal(job.spec.template.spec.nodeName, 'w1');
  t.equal(job.spec.template.spec.containers[0].image, 'reg/kpts:9');
  t.equal((template as Obj).spec.template.spec.nodeName, 'placeholder-node', 'the template is not modified');
  t.throws(() => nodeJob({ kind: 'Pod' }, { node: 'x', runId: 'r' }), /not a Job/);
});

function fakeFanOutApi(exitCodes: Record<string, number | undefined>): FanOutApi & { created: KubeObject[] } {
  const created: KubeObject[] = [];
  return {
    created,
    listNodes: async () => Object.keys(exitCodes),
    describePod: async () => ({ image: 'reg/kpts:9', ownerJob: undefined }),
    createJob: async (_ns, job) => {
      created.push(job);
      return `job-${(job as Obj).spec.template.spec.nodeName}`;
    },
    jobState: async (_ns, name) => (exitCodes[name.slice(4)] === undefined ? undefined : exitCodes[name.slice(4)] === 0 ? 'Complete' : 'Failed'),
    jobOutcome: async (_ns, name) => ({ exitCode: exitCodes[name.slice(4)], log: `log of ${name}` }),
  };
}

t.test('fan-out: one Job per node, a verdict per node, the worst exit status', async (t) => {
  const opts = { template, namespace: 'kube-proxy-ts', ownerPod: 'me', nodeSelector: undefined, timeoutMs: 300, pollIntervalMs: 10, driftExitCode: 3 };
  let out = '';
  const api = fakeFanOutApi({ cp: 0, w1: 0 });
  t.equal(await fanOut(api, opts, (s) => void (out += s)), 0);
  t.equal(api.created.length, 2);
  t.match(out, /cp\s+in sync/);
  out = '';
  t.equal(await fanOut(fakeFanOutApi({ cp: 0, w1: 3 }), opts, (s) => void (out += s)), 3, 'drift');
  t.match(out, /w1\s+DRIFT/);
  t.match(out, /--- w1 \(job-w1\):\nlog of job-w1/, 'the drifted node\'s report follows');
  t.equal(await fanOut(fakeFanOutApi({ cp: 1, w1: 3 }), opts, () => {}), 1, 'a failure beats drift');
  out = '';
  t.equal(await fanOut(fakeFanOutApi({ cp: 0, w1: undefined }), opts, (s) => void (out += s)), 1, 'a Job that never finishes');
  t.match(out, /w1\s+TIMEOUT/);
});

t.test("fan-out: the CronJob's flags are accepted", async (t) => {
  const cron = readYamlFile(join(REPO, 'deploy/rule-audit/cronjob.yaml'))[0]!;
  const c = cron.spec.jobTemplate.spec.template.spec.containers[0];
  const args = (c.args as string[]).map((a) => a.replace('$(POD_NAMESPACE)', 'kube-proxy-ts').replace('$(POD_NAME)', 'rule-audit-x').replace('/etc/kube-proxy-ts/rule-audit', join(REPO, 'deploy/rule-audit')));
  const api = fakeFanOutApi({ n1: 0 });
  t.equal(await perNodeJobsMain([...args, '--poll-interval=10ms'], async () => api, () => {}), 0);
  t.equal((api.created[0] as Obj).spec.template.spec.containers[0].image, 'reg/kpts:9', "the fan-out's own image");
  t.equal(await perNodeJobsMain(['--namespace=x'], async () => api, () => {}), 2, 'no template: usage');
});

const histogramText = (name: string, counts: Record<string, number>, sum: number, labels = 'ip_family="IPv4",') =>
  Object.entries(counts).map(([le, c]) => `${name}_bucket{${labels}le="${le}"} ${c}`).join('\n') + `\n${name}_sum{${labels.replace(/,$/, '')}} ${sum}\n${name}_count{${labels.replace(/,$/, '')}} ${counts['+Inf']}\n`;

t.test('histograms: parse, delta, quantile as histogram_quantile', async (t) => {
  const before = parsePrometheusText(histogramText('x', { '1': 2, '2': 2, '+Inf': 2 }, 1) + histogramText('x', { '1': 5, '2': 5, '+Inf': 5 }, 1, 'ip_family="IPv6",'));
  const after = parsePrometheusText(histogramText('x', { '1': 2, '2': 12, '+Inf': 12 }, 16));
  const d = histogramDelta(histogramOf(after, 'x', { ip_family: 'IPv4' }), histogramOf(before, 'x', { ip_family: 'IPv4' }));
  t.equal(d.count, 10, 'one family only');
  t.equal(d.sum, 15);
  t.equal(histogramQuantile(d, 0.5), 1.5, 'linear inside the (1, 2] bucket');
  t.equal(histogramQuantile(d, 1), 2);
  t.equal(histogramQuantile({ bounds: [1, Infinity], cumulative: [0, 4], sum: 9, count: 4 }, 0.9), 1, '+Inf answers the highest finite bound');
  t.equal(histogramQuantile({ bounds: [Infinity], cumulative: [0], sum: 0, count: 0 }, 0.5), undefined);
});

/** Proxies whose metrics grow by `services` observations the first time they are scraped again. */
function fakeBenchApi(nodes: string[], programs: boolean): BenchApi & { created: Obj[]; deleted: string[] } {
  const created: Obj[] = [];
  const deleted: string[] = [];
  const scrapes = new Map<string, number>();
  return {
    created,
    deleted,
    listProxyPods: async () => nodes.map((node, i) => ({ node, ip: `192.0.2.${i + 1}` })),
    createNamespace: async () => {},
    deleteNamespace: async (name) => void deleted.push(name),
    create: async (_ns, o) => void created.push(o),
    fetchText: async (url) => {
      if (url.endsWith('/proxyMode')) return 'iptables';
      const n = (scrapes.get(url) ?? 0) + 1;
      scrapes.set(url, n);
      const done = n > 1 && programs ? created.length / 2 : 0;
      return histogramText(NETWORK_PROGRAMMING, { '0.25': done, '0.5': done, '+Inf': done }, done * 0.2) + histogramText(SYNC_DURATION, { '0.001': 1, '0.002': 1 + (done ? 3 : 0), '+Inf': 1 + (done ? 3 : 0) }, 0.01) + `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"} ${Date.now() / 1000}\n`;
    },
  };
}

t.test('benchmark: creates N Services and slices, measures every proxy, deletes the namespace', async (t) => {
  const api = fakeBenchApi(['cp', 'w1'], true);
  const opts = { services: 4, endpointsPerService: 3, proxyNamespace: 'kube-proxy-ts', proxySelector: 'k8s-app=kube-proxy-ts', metricsPort: 10249, timeoutMs: 5000, pollIntervalMs: 10, concurrency: 2, modeLabel: undefined };
  const result = await runBenchmark(api, opts, () => {});
  t.equal(result.ok, true);
  t.equal(api.created.filter((o) => o.kind === 'Service').length, 4);
  const slice = api.created.find((o) => o.kind === 'EndpointSlice')!;
  t.equal(slice.endpoints.length, 3);
  t.ok(slice.metadata.annotations['endpoints.kubernetes.io/last-change-trigger-time'], 'trigger time for network programming latency');
  t.match(slice.endpoints[0].addresses[0], /^198\.1[89]\./, 'benchmark addresses only');
  t.equal(api.deleted.length, 1, 'the scratch namespace is deleted');
  const text = formatFigures(result.figures, opts);
  t.match(text, /^cp\s+iptables\s+3\s+/m, 'syncs counted from the delta');
  t.match(text, /SUMMARY mode=iptables nodes=2 services=4 endpoints=12 complete=true netprog_p50=0\.125/);

  const stuck = fakeBenchApi(['cp'], false);
  const partial = await runBenchmark(stuck, { ...opts, timeoutMs: 100 }, () => {});
  t.equal(partial.ok, false, 'a proxy that never programs fails the run');
  t.equal(stuck.deleted.length, 1, 'and the namespace is still deleted');
});

t.test("benchmark: the Job's flags are accepted", async (t) => {
  const job = readYamlFile(join(REPO, 'deploy/benchmark/job.yaml'))[0]!;
  const args = job.spec.template.spec.containers[0].args as string[];
  let out = '';
  const code = await benchmarkMain([...args, '--services=3', '--poll-interval=10ms'], async () => fakeBenchApi(['w1'], true), (s) => void (out += s));
  t.equal(code, 0, out);
  t.match(out, /SUMMARY .*services=3 endpoints=15/);
  t.equal(await benchmarkMain(['--services=0'], async () => fakeBenchApi([], true), () => {}), 2);
});

t.test('assert-no-proxy: fails while something listens, passes when nothing does', async (t) => {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as { port: number }).port;
  const lines: string[] = [];
  t.equal(await assertNoProxy([`--ports=${port}`], (l) => lines.push(l)), 1);
  t.match(lines.at(-1), /a proxy still runs on this node/);
  await new Promise((r) => server.close(r));
  t.equal(await assertNoProxy([`--ports=${port}`], (l) => lines.push(l)), 0);
  t.equal(await assertNoProxy(['--ports=x'], () => {}), 2);
  const job = readYamlFile(join(REPO, 'deploy/jobs/migrate-from-kube-proxy.yaml'))[0]!;
  const guard = job.spec.template.spec.initContainers[0];
  t.equal(await assertNoProxy([...guard.args, `--ports=${port}`], () => {}), 0, "the Job's flags are accepted");
});

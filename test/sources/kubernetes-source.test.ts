/**
 * The Kubernetes source as the proxy runs it (three supervised informers behind the readiness
 * gate), with a recording sink: what reaches the sink, in which order, and when the gate opens.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { defaultConfiguration, defaultExtraOptions } from '../../src/config/types.js';
import { runtimeSettings } from '../../src/config/runtime.js';
import { nodeInfoFrom } from '../../src/model/node.js';
import type { EndpointSlice, Node, Service } from '../../src/model/k8s.js';
import type { ObjectSink } from '../../src/sources/sink.js';
import { startKubernetesSource, type KubernetesSource } from '../../src/sources/kubernetes/source.js';
import { connect, KubeConnectionError } from '../../src/sources/kubernetes/client.js';
import { silentLogger } from '../../src/util/log.js';
import { TestApiServer, endpointSlice, node, pollUntil, service } from '../support/apiserver/index.js';
import { BOOKMARK_INTERVAL_MS, FAST_TIMINGS } from './fixtures/harness.js';

class RecordingSink implements ObjectSink {
  readonly calls: string[] = [];
  nodes: Node[] = [];
  upsertService(svc: Service): void {
    this.calls.push(`service ${svc.metadata?.name}`);
  }
  deleteService(name: string): void {
    this.calls.push(`-service ${name}`);
  }
  upsertEndpointSlice(slice: EndpointSlice): void {
    this.calls.push(`slice ${slice.metadata?.name}`);
  }
  deleteEndpointSlice(name: string): void {
    this.calls.push(`-slice ${name}`);
  }
  upsertNode(n: Node): void {
    this.nodes.push(n);
    this.calls.push(`node ${n.metadata?.name}`);
  }
  servicesSynced(): void {
    this.calls.push('servicesSynced');
  }
  endpointSlicesSynced(): void {
    this.calls.push('endpointSlicesSynced');
  }
}

function start(server: TestApiServer, sink: ObjectSink, opts: { nodeWaitMs?: number; kubeconfig?: string; master?: string } = {}): KubernetesSource {
  const config = defaultConfiguration();
  config.hostnameOverride = 'node1';
  config.clientConnection.kubeconfig = opts.kubeconfig ?? server.kubeconfigPath;
  const extra = defaultExtraOptions();
  extra.master = opts.master ?? '';
  return startKubernetesSource({
    config,
    extra,
    settings: runtimeSettings(config),
    sink,
    log: silentLogger,
    timings: FAST_TIMINGS,
    nodeWaitMs: opts.nodeWaitMs ?? 10_000,
    registry: new Registry(),
  });
}

t.test('readiness gate: nothing is "synced" before both lists and the Node; upserts come first', async (t) => {
  const server = await TestApiServer.start({ bookmarkIntervalMs: BOOKMARK_INTERVAL_MS });
  t.teardown(() => server.stop());
  await server.create('services', service({ name: 'web' }));
  await server.create('endpointslices', endpointSlice({ name: 'web-1', serviceName: 'web', endpoints: [{ addresses: ['10.244.1.2'] }] }));
  // The Services list fails three times before it succeeds.
  await server.failNext({ status: 500, resource: 'services', verbs: ['list'], count: 3 });
  const sink = new RecordingSink();
  const source = start(server, sink);
  t.teardown(() => source.stop());
  let ready = false;
  void source.ready.then(() => (ready = true));
  await pollUntil(() => (sink.calls.includes('slice web-1') && sink.calls.includes('service web') ? true : undefined), 10_000, 'both lists');
  await sleep(300);
  t.notOk(sink.calls.some((c) => c.endsWith('Synced')), 'no synced signal while the Node has not been seen');
  t.notOk(ready);
  await server.create('nodes', node({ name: 'node1', internalIPs: ['10.0.0.1'], zone: 'z1' }));
  await source.ready;
  const order = sink.calls.filter((c) => !c.startsWith('node'));
  t.same(order.slice(-2).sort(), ['endpointSlicesSynced', 'servicesSynced'], 'the synced signals come after the listed objects');
  t.ok(sink.calls.indexOf('node node1') < sink.calls.indexOf('servicesSynced'), 'the Node (addresses, zone) is known before the first sync may run');
  t.same(nodeInfoFrom(sink.nodes.at(-1)!).addresses, { IPv4: '10.0.0.1' });
  t.ok(source.status().find((s) => s.resource === 'services')!.restarts >= 3, 'the failing list was retried');
});

t.test('readiness gate: without a Node object the gate opens after the node wait', async (t) => {
  const server = await TestApiServer.start({ bookmarkIntervalMs: BOOKMARK_INTERVAL_MS });
  t.teardown(() => server.stop());
  const sink = new RecordingSink();
  const started = Date.now();
  const source = start(server, sink, { nodeWaitMs: 800 });
  t.teardown(() => source.stop());
  await source.ready;
  t.ok(Date.now() - started >= 750, 'waited for the Node first');
  t.same(sink.calls.slice().sort(), ['endpointSlicesSynced', 'servicesSynced']);
});

t.test('own Node: eligibility follows deletionTimestamp, the autoscaler taint and deletion', async (t) => {
  const server = await TestApiServer.start({ bookmarkIntervalMs: BOOKMARK_INTERVAL_MS });
  t.teardown(() => server.stop());
  await server.create('nodes', node({ name: 'node1', internalIPs: ['10.0.0.1'] }));
  await server.create('nodes', node({ name: 'node2', internalIPs: ['10.0.0.2'] }));
  const sink = new RecordingSink();
  const source = start(server, sink);
  t.teardown(() => source.stop());
  await source.ready;
  t.ok(sink.nodes.every((n) => n.metadata?.name === 'node1'), 'only this node is watched (field selector)');
  t.ok(nodeInfoFrom(sink.nodes.at(-1)!).eligible);
  await server.patch('nodes', { name: 'node1' }, { spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1', effect: 'NoSchedule' }] } });
  await pollUntil(() => (nodeInfoFrom(sink.nodes.at(-1)!).eligible ? undefined : true), 5000, 'the taint');
  t.pass('tainted by the cluster autoscaler: not eligible');
  await server.patch('nodes', { name: 'node1' }, { spec: { taints: null } });
  await pollUntil(() => (nodeInfoFrom(sink.nodes.at(-1)!).eligible ? true : undefined), 5000, 'the taint removed');
  await server.remove('nodes', { name: 'node1' });
  await pollUntil(() => (nodeInfoFrom(sink.nodes.at(-1)!).eligible ? undefined : true), 5000, 'the deletion');
  t.same(nodeInfoFrom(sink.nodes.at(-1)!).addresses, { IPv4: '10.0.0.1' }, 'a deleted Node keeps its last addresses');
});

t.test('connection: kubeconfig, --master override, --master alone, in-cluster errors', async (t) => {
  const server = await TestApiServer.start({ bookmarkIntervalMs: BOOKMARK_INTERVAL_MS });
  t.teardown(() => server.stop());
  const fromFile = connect({ kubeconfig: server.kubeconfigPath, master: '' });
  t.equal(fromFile.server, server.url);
  t.equal(fromFile.source, 'kubeconfig');
  const overridden = connect({ kubeconfig: server.kubeconfigPath, master: 'https://127.0.0.1:1' });
  t.equal(overridden.server, 'https://127.0.0.1:1', '--master replaces the kubeconfig server and keeps its credentials');
  t.ok(overridden.kubeConfig.getCurrentUser(), 'the user is kept');
  t.equal(connect({ kubeconfig: '', master: '127.0.0.1:6443' }).server, 'https://127.0.0.1:6443', 'a bare host:port means https');
  t.throws(() => connect({ kubeconfig: '/nonexistent/kubeconfig', master: '' }), KubeConnectionError);
  t.throws(() => connect({ kubeconfig: '', master: 'ftp://x' }), /only http and https/);
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  t.teardown(() => {
    for (const [key, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  delete process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_PORT;
  t.throws(() => connect({ kubeconfig: '', master: '' }), /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined/);
  process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
  process.env.KUBERNETES_SERVICE_PORT = '443';
  const root = mkdtempSync(join(tmpdir(), 'kpt-sa-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  t.throws(() => connect({ kubeconfig: '', master: '', pathPrefix: root }), /service account token .* does not exist/);
  const dir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'token'), 'tok');
  writeFileSync(join(dir, 'ca.crt'), server.caPem ?? '');
  const inCluster = connect({ kubeconfig: '', master: '', pathPrefix: root });
  t.equal(inCluster.source, 'in-cluster');
  t.equal(inCluster.server, 'https://10.96.0.1:443');
});

t.test('--master alone over plain HTTP reaches the server, and the source follows it', async (t) => {
  const server = await TestApiServer.start({ tls: false, bookmarkIntervalMs: BOOKMARK_INTERVAL_MS });
  t.teardown(() => server.stop());
  await server.create('nodes', node({ name: 'node1', internalIPs: ['10.0.0.1'] }));
  await server.create('services', service({ name: 'web' }));
  const sink = new RecordingSink();
  const source = start(server, sink, { kubeconfig: '', master: server.url });
  t.teardown(() => source.stop());
  await source.ready;
  t.ok(sink.calls.includes('service web'));
});

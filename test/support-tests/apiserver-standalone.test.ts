import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import t from 'tap';
import { kubeConfigFrom, service, spawnApiServer } from '../support/apiserver/index.js';
import { nodeScriptCommand, nodeScriptEnv } from '../support/apiserver/node-script-command.js';

/** The server as its own process, driven over the control socket; then inside a network namespace. */

const run = promisify(execFile);

async function processAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('a spawned server is driven over its control socket and used through its kubeconfig', async (t) => {
  const server = await spawnApiServer({ token: 'spawned' });
  t.teardown(() => server.stop());
  t.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const core = kubeConfigFrom(server.kubeconfigPath).makeApiClient(CoreV1Api);

  await server.create('services', service({ name: 'web' }));
  t.same((await core.listServiceForAllNamespaces()).items.map((s) => s.metadata?.name), ['web']);

  await server.failNext({ resource: 'services', verbs: ['list'], status: 500 });
  await t.rejects(core.listServiceForAllNamespaces(), { code: 500 });
  const log = await server.requests({ resource: 'services', verb: 'list' });
  t.same(log.map((r) => [r.status, r.fault ?? '']), [[200, ''], [500, 'fail:500']]);

  t.match(await server.get('services', { namespace: 'default', name: 'web' }), { spec: { clusterIP: '10.96.0.1' } });
  await t.rejects(server.replace('services', { ...service({ name: 'web' }), metadata: { name: 'web', namespace: 'default', resourceVersion: '1' } }), { code: 409 }, 'Status errors cross the control socket as ApiError');
  t.equal(await server.remove('services', { namespace: 'default', name: 'missing' }), undefined);

  await server.failNext({ status: 503, count: Infinity });
  await t.rejects(core.listNode(), { code: 503 });
  await t.rejects(core.listNode(), { code: 503 });
  await server.clearFaults();
  t.ok(await core.listNode());

  const pid = server.pid;
  await server.stop();
  t.notOk(await processAlive(pid), 'the child has exited');
});

t.test('a server bound to an address inside a network namespace serves a client in that namespace', async (t) => {
  const netns = `kpts-api-${process.pid}`;
  const address = '10.253.77.1';
  await run('ip', ['netns', 'add', netns]);
  t.teardown(() => run('ip', ['netns', 'del', netns]).then(() => undefined));
  await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', netns, 'addr', 'add', `${address}/32`, 'dev', 'lo']);

  const server = await spawnApiServer({ netns, host: address, bookmarkIntervalMs: 500 });
  t.teardown(() => server.stop());
  t.match(server.url, new RegExp(`^https://${address.replaceAll('.', '\\.')}:\\d+$`));
  const { stdout: where } = await run('ip', ['netns', 'identify', String(server.pid)]);
  t.equal(where.trim(), netns, 'the server process lives in the namespace');

  await server.create('services', service({ name: 'inside', namespace: 'prod' }));
  await server.create('services', service({ name: 'hidden', labels: { 'service.kubernetes.io/headless': '' } }));
  const [node = process.execPath, ...script] = nodeScriptCommand('kube-list-cli');
  const { stdout } = await run('ip', ['netns', 'exec', netns, node, ...script, '--kubeconfig', server.kubeconfigPath, '--resource', 'services', '--label-selector', '!service.kubernetes.io/headless'], {
    env: nodeScriptEnv(),
    timeout: 60000,
  });
  t.same(JSON.parse(stdout), { resourceVersion: await server.currentResourceVersion(), names: ['prod/inside'] });
  const list = (await server.requests({ resource: 'services', verb: 'list' }))[0];
  t.same(list?.query, { labelSelector: '!service.kubernetes.io/headless' }, 'the control socket reports what the client in the namespace asked');
});

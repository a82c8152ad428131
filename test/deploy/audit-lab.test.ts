// `kube-proxy-ts audit` against a real kernel: node1 of a lab, programmed by a `--once` sync,
// then changed behind the proxy's back (root only; every rule lives in the lab's namespaces).
import t from 'tap';
import { World } from '../support/e2e/world.js';
import { endpointChainFor, serviceChainsFor } from '../../src/modes/iptables/naming.js';

interface AuditResult {
  code: number;
  stdout: string;
  stderr: string;
  json: { inSync: boolean; reports: { family: string; services: { missing: string[]; extra: string[]; drifted: string[] }; endpoints: { missing: string[]; extra: string[] }; chains: { missing: string[]; extra: string[] }; rules: { missing: string[]; extra: string[]; misordered: string[] }; checked: { services: number; rules: number } }[] } | undefined;
}

const WEB = 'default/web:http';
const AFFINITY = 'default/sticky:http';
const EMPTY = 'default/empty:http';
const web = serviceChainsFor(WEB, 'tcp');

t.test('audit in a lab node: in sync after a sync, then each kind of drift', async (t) => {
  const world = await World.create(t, { mode: 'iptables' });
  const lab = world.lab;
  const [web1, web2] = await lab.addPods([{ name: 'web-1', node: 'node1' }, { name: 'web-2', node: 'node2' }]);
  const port = [{ name: 'http', port: 80, targetPort: 8080 }];
  const servicePorts = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }];
  const objects = () => [
    world.service('web', { type: 'NodePort', clusterIP: lab.serviceIp(1), ports: [{ ...servicePorts[0], nodePort: 30080 }], externalTrafficPolicy: 'Local' }),
    world.slice('web', [web1!, web2!], port),
    world.service('sticky', { clusterIP: lab.serviceIp(2), ports: servicePorts, sessionAffinity: 'ClientIP' }),
    world.slice('sticky', [web1!, web2!], port),
    world.service('empty', { clusterIP: lab.serviceIp(3), ports: servicePorts }),
  ];
  world.write('services', objects());

  const audit = async (...extra: string[]): Promise<AuditResult> => {
    const argv = world.proxyArgv(['--output=json', ...extra]);
    argv.splice(2, 0, 'audit');
    const r = await lab.exec('node1', argv, { allowFailure: true, timeoutMs: 60_000 });
    let json: AuditResult['json'];
    try {
      json = JSON.parse(r.stdout) as AuditResult['json'];
    } catch {
      json = undefined;
    }
    return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr, json };
  };
  const iptables = (...args: string[]) => lab.exec('node1', ['iptables', '-w', '5', ...args]);
  const resync = async () => {
    const r = await world.runProxyOnce(['--once']);
    t.equal(r.code, 0, `--once sync: ${r.stderr.slice(-2000)}`);
  };
  const ipv4 = (r: AuditResult) => r.json?.reports.find((x) => x.family === 'IPv4');

  await resync();

  await t.test('no drift right after a --once sync', async (t) => {
    const r = await audit();
    t.equal(r.code, 0, r.stdout + r.stderr.slice(-2000));
    t.equal(r.json?.inSync, true);
    t.ok((ipv4(r)?.checked.services ?? 0) >= 3, 'the services were checked');
    t.ok((ipv4(r)?.checked.rules ?? 0) > 20, 'rules were checked');
    const text = await audit('--output=text');
    t.match(text.stdout, /node node1: in sync/);
  });

  await t.test('a flushed service chain is drift of that service', async (t) => {
    await iptables('-t', 'nat', '-F', web.clusterPolicy);
    const r = await audit();
    t.equal(r.code, 3, r.stderr.slice(-2000));
    const rep = ipv4(r)!;
    t.same(rep.services.drifted, [WEB]);
    t.ok(rep.rules.missing.some((l) => l.startsWith(`nat ${web.clusterPolicy}: `) && l.includes('KUBE-SEP-')), 'the load-balancing rules are missing');
    t.same(rep.chains.missing, []);
    await resync();
    t.equal((await audit()).code, 0, 'a full sync repairs it');
  });

  await t.test('a deleted chain (and its dispatch rule) is reported as a missing chain', async (t) => {
    const save = (await lab.exec('node1', ['iptables-save', '-t', 'nat'])).stdout;
    await iptables('-t', 'nat', '-F', web.external);
    for (const line of save.split('\n').filter((l) => l.startsWith('-A KUBE-NODEPORTS ') && l.includes(web.external))) {
      await lab.exec('node1', ['sh', '-c', `iptables -w 5 -t nat ${line.replace(/^-A/, '-D')}`]);
    }
    await iptables('-t', 'nat', '-X', web.external);
    const r = await audit();
    t.equal(r.code, 3);
    const rep = ipv4(r)!;
    t.same(rep.chains.missing, [`nat ${web.external} (${WEB})`]);
    t.ok(rep.rules.missing.some((l) => l.startsWith('nat KUBE-NODEPORTS: ') && l.includes(web.external)), 'the NodePort rule is missing');
    t.same(rep.services.drifted, [WEB]);
    await resync();
  });

  await t.test("a service whose rules are all gone is a missing service; its endpoints are missing", async (t) => {
    const sticky = serviceChainsFor(AFFINITY, 'tcp');
    const save = (await lab.exec('node1', ['iptables-save', '-t', 'nat'])).stdout;
    for (const line of save.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES ') && l.includes(AFFINITY))) {
      await lab.exec('node1', ['sh', '-c', `iptables -w 5 -t nat ${line.replace(/^-A/, '-D')}`]);
    }
    const seps = [web1!, web2!].map((p) => endpointChainFor(AFFINITY, 'tcp', `${p.ips.IPv4}:8080`));
    for (const chain of [sticky.clusterPolicy, ...seps]) await iptables('-t', 'nat', '-F', chain);
    for (const chain of [sticky.clusterPolicy, ...seps]) await iptables('-t', 'nat', '-X', chain);
    const r = await audit();
    t.equal(r.code, 3);
    const rep = ipv4(r)!;
    t.same(rep.services.missing, [AFFINITY]);
    t.same(rep.endpoints.missing, [`${AFFINITY} -> ${web1!.ips.IPv4}:8080`, `${AFFINITY} -> ${web2!.ips.IPv4}:8080`].sort());
    t.equal(rep.chains.missing.length, 3);
    await resync();
  });

  await t.test('a service deleted from the API but still programmed is an extra service', async (t) => {
    world.write('services', objects().filter((o) => (o.metadata as { name: string }).name !== 'sticky'));
    const r = await audit();
    t.equal(r.code, 3);
    const rep = ipv4(r)!;
    t.same(rep.services.extra, [AFFINITY]);
    t.equal(rep.endpoints.extra.length, 2, 'both endpoint chains are extra');
    t.ok(rep.endpoints.extra.every((e) => e.startsWith(`${AFFINITY} -> `)));
    t.ok(rep.chains.extra.some((c) => c.startsWith('nat KUBE-SVC-')));
    t.match(r.json && (await audit('--output=text')).stdout, /services extra \(1\):\n\s+default\/sticky:http/);
    await resync();
    t.equal((await audit()).code, 0, 'the next sync removes the stale chains');
    world.write('services', objects());
    await resync();
  });

  await t.test('a rule someone added to a proxy chain is an extra rule; a missing jump is reported', async (t) => {
    await iptables('-t', 'nat', '-I', 'KUBE-SERVICES', '-d', '203.0.113.9/32', '-p', 'tcp', '--dport', '81', '-j', 'RETURN');
    await iptables('-t', 'filter', '-D', 'INPUT', '-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'kubernetes load balancer firewall', '-j', 'KUBE-PROXY-FIREWALL');
    const r = await audit();
    t.equal(r.code, 3);
    const rep = ipv4(r)!;
    t.equal(rep.rules.extra.length, 1);
    t.match(rep.rules.extra[0], /^nat KUBE-SERVICES: -A KUBE-SERVICES -d 203\.0\.113\.9\/32/);
    t.equal(rep.rules.missing.length, 1);
    t.match(rep.rules.missing[0], /^filter INPUT: .*KUBE-PROXY-FIREWALL/);
    t.same(rep.services, { missing: [], extra: [], drifted: [] }, 'no service is affected');
    await resync();
  });

  await t.test('load-balancing rules in another order are reported as out of order', async (t) => {
    const save = (await lab.exec('node1', ['iptables-save', '-t', 'nat'])).stdout;
    const first = save.split('\n').find((l) => l.startsWith(`-A ${web.clusterPolicy} `) && l.includes('--probability'))!;
    t.ok(first, 'the first endpoint rule');
    await lab.exec('node1', ['sh', '-c', `iptables -w 5 -t nat ${first.replace(/^-A/, '-D')} && iptables -w 5 -t nat ${first}`]);
    const r = await audit();
    t.equal(r.code, 3);
    const rep = ipv4(r)!;
    t.same(rep.rules.misordered, [`nat ${web.clusterPolicy} (${WEB})`]);
    t.same(rep.rules.missing, []);
    t.same(rep.rules.extra, []);
    await resync();
  });

  await t.test('--attempts waits out a sync in progress', async (t) => {
    await iptables('-t', 'nat', '-F', web.clusterPolicy);
    const auditing = audit('--attempts=20', '--retry-interval=250ms');
    await new Promise((r) => setTimeout(r, 600));
    await resync();
    const r = await auditing;
    t.equal(r.code, 0, 'drift that a sync repaired before the last attempt is not reported');
  });

  t.equal((await audit()).code, 0, 'in sync at the end');
  t.comment(`checked ${EMPTY} too (a service without endpoints: filter REJECT rules)`);
});

t.test('audit with the legacy iptables backend', async (t) => {
  const world = await World.create(t, { mode: 'iptables', proxyArgs: ['--iptables-backend=legacy'] });
  const lab = world.lab;
  const [pod] = await lab.addPods([{ name: 'web-1', node: 'node1' }]);
  world.write('services', [
    world.service('web', { clusterIP: lab.serviceIp(1), ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], sessionAffinity: 'ClientIP' }),
    world.slice('web', [pod!], [{ name: 'http', port: 80, targetPort: 8080 }]),
  ]);
  t.equal((await world.runProxyOnce(['--once'])).code, 0);
  const argv = world.proxyArgv();
  argv.splice(2, 0, 'audit');
  const inSync = await lab.exec('node1', argv, { allowFailure: true, timeoutMs: 60_000 });
  t.equal(inSync.code, 0, inSync.stdout + inSync.stderr.slice(-2000));
  await lab.exec('node1', ['iptables-legacy', '-w', '5', '-t', 'nat', '-F', web.clusterPolicy]);
  const drift = await lab.exec('node1', argv, { allowFailure: true, timeoutMs: 60_000 });
  t.equal(drift.code, 3);
  t.match(drift.stdout, new RegExp(`services drifted \\(1\\):\\n\\s+${WEB}`));
  t.match(drift.stdout, /rules missing \(3\):/, 'the masquerade rule, the affinity check and the jump to the endpoint');
});

// Runs only inside the VM lab (npm run test:vm): proves the guest is fit for the IPVS work before
// any real test relies on it. Everything happens in namespaces this file creates and removes.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with an argument array, optionally feeding stdin; never throws on a non-zero exit. */
function run(file: string, args: readonly string[], input?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Like run, but a non-zero exit is an error that carries stderr. */
async function must(file: string, args: readonly string[], input?: string): Promise<string> {
  const ran = await run(file, args, input);
  if (ran.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${ran.code}: ${ran.stderr.trim()}`);
  return ran.stdout;
}

const inNs = (ns: string, file: string, args: readonly string[], input?: string): Promise<string> =>
  must('ip', ['netns', 'exec', ns, file, ...args], input);

/** A namespace that is deleted when the test ends, whatever happened. */
async function namespace(test: Test, suffix: string): Promise<string> {
  const name = `kvs${process.pid}-${suffix}`;
  await must('ip', ['netns', 'add', name]);
  test.teardown(() => run('ip', ['netns', 'del', name]).then(() => undefined));
  await must('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/** Two namespaces joined by a veth pair: a=10.123.0.1, b=10.123.0.2. */
async function vethPair(test: Test): Promise<{ a: string; b: string }> {
  const a = await namespace(test, 'a');
  const b = await namespace(test, 'b');
  await must('ip', ['link', 'add', 'va', 'netns', a, 'type', 'veth', 'peer', 'name', 'vb', 'netns', b]);
  await must('ip', ['-n', a, 'addr', 'add', '10.123.0.1/24', 'dev', 'va']);
  await must('ip', ['-n', b, 'addr', 'add', '10.123.0.2/24', 'dev', 'vb']);
  await must('ip', ['-n', a, 'link', 'set', 'va', 'up']);
  await must('ip', ['-n', b, 'link', 'set', 'vb', 'up']);
  return { a, b };
}

/** Polls with curl from a namespace until the URL answers 200: servers start slowly under emulation. */
async function curlWhenReady(ns: string, url: string, withinMs = 30_000): Promise<string> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const ran = await run('ip', ['netns', 'exec', ns, 'curl', '-sS', '--fail', '--max-time', '3', url]);
    if (ran.code === 0) return ran.stdout;
    if (Date.now() > deadline) throw new Error(`${url} did not answer from ${ns} within ${withinMs} ms: ${ran.stderr.trim()}`);
    await sleep(200);
  }
}

function stopOnTeardown(test: Test, child: ChildProcess): void {
  test.teardown(() => {
    child.kill('SIGKILL');
  });
}

t.test('the guest runs a Debian kernel and node 24', async (t) => {
  const release = (await must('uname', ['-r'])).trim();
  t.match(release, /-amd64$/, `kernel ${release}`);
  const major = Number(process.versions.node.split('.')[0]);
  t.ok(major >= 24, `node ${process.versions.node}`);
  t.match(await must('node', ['-e', 'console.log(process.version)']), /^v2[4-9]\./, 'node on PATH');
});

t.test('IPVS answers in a fresh namespace and takes every scheduler', async (t) => {
  const ns = await namespace(t, 'ipvs');
  t.match(await inNs(ns, 'ipvsadm', ['-Ln']), /IP Virtual Server version/, 'ipvsadm -Ln');
  const schedulers = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'sed', 'nq', 'mh'];
  for (const [i, scheduler] of schedulers.entries()) {
    await inNs(ns, 'ipvsadm', ['-A', '-t', `10.96.0.${i + 1}:80`, '-s', scheduler]);
    await inNs(ns, 'ipvsadm', ['-a', '-t', `10.96.0.${i + 1}:80`, '-r', '10.244.0.5:8080', '-m']);
  }
  const listing = await inNs(ns, 'ipvsadm', ['-Ln']);
  for (const [i, scheduler] of schedulers.entries()) {
    t.match(listing, new RegExp(`TCP\\s+10\\.96\\.0\\.${i + 1}:80 ${scheduler}\\b`), `virtual server with ${scheduler}`);
  }
  t.match(listing, /-> 10\.244\.0\.5:8080\s+Masq/, 'real server');
});

t.test('a dummy link holds service addresses in a namespace', async (t) => {
  const ns = await namespace(t, 'dummy');
  await must('ip', ['-n', ns, 'link', 'add', 'kube-ipvs0', 'type', 'dummy']);
  await must('ip', ['-n', ns, 'addr', 'add', '10.96.0.10/32', 'dev', 'kube-ipvs0']);
  t.match(await must('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', 'kube-ipvs0']), /inet 10\.96\.0\.10\/32/);
});

t.test('nft, iptables-restore and ipset work, and missing modules load on demand', async (t) => {
  const ns = await namespace(t, 'nf');
  await inNs(ns, 'nft', ['-f', '-'], 'table ip kpt_smoke {\n  chain c {\n    type nat hook prerouting priority -100;\n    ip daddr 10.96.0.1 tcp dport 80 dnat to 10.244.0.5:8080\n  }\n}\n');
  t.match(await inNs(ns, 'nft', ['list', 'table', 'ip', 'kpt_smoke']), /dnat to 10\.244\.0\.5:8080/, 'nft table');

  const rules = [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.244.0.5:8080',
    '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j RETURN',
    'COMMIT',
    '',
  ].join('\n');
  await inNs(ns, 'iptables-restore', ['-w'], rules);
  t.match(await inNs(ns, 'iptables-save', ['-t', 'nat']), /--mode random --probability 0\.5/, 'iptables-restore rules');

  await inNs(ns, 'ipset', ['create', 'KUBE-CLUSTER-IP', 'hash:ip,port']);
  await inNs(ns, 'ipset', ['add', 'KUBE-CLUSTER-IP', '10.96.0.1,tcp:80']);
  t.match(await inNs(ns, 'ipset', ['list', 'KUBE-CLUSTER-IP']), /10\.96\.0\.1,tcp:80/, 'ipset');

  // xt_limit is not loaded at boot: the kernel must fetch it through the forwarded modprobe.
  await inNs(ns, 'iptables', ['-w', '-A', 'INPUT', '-m', 'limit', '--limit', '10/s', '-j', 'ACCEPT']);
  t.match(await must('cat', ['/proc/modules']), /^xt_limit /m, 'xt_limit loaded on demand');
});

t.test('servers in one namespace answer curl from another', async (t) => {
  const { a, b } = await vethPair(t);

  const python = spawn('ip', ['netns', 'exec', a, 'python3', '-m', 'http.server', '8080', '--bind', '10.123.0.1'], {
    stdio: 'ignore',
    cwd: '/etc',
  });
  stopOnTeardown(t, python);
  const started = Date.now();
  // Serving /etc: the guest's own hosts file, written by the init, names the guest.
  t.match(await curlWhenReady(b, 'http://10.123.0.1:8080/hosts'), /127\.0\.0\.1 localhost kpt-vm/, 'python http.server answers');
  t.comment(`python server ready after ${Date.now() - started} ms`);

  const nodeServer = spawn(
    'ip',
    [
      'netns', 'exec', a, process.execPath, '-e',
      "require('node:http').createServer((q, s) => s.end('from-node ' + q.socket.remoteAddress)).listen(8081, '10.123.0.1')",
    ],
    { stdio: 'ignore' },
  );
  stopOnTeardown(t, nodeServer);
  t.equal(await curlWhenReady(b, 'http://10.123.0.1:8081/'), 'from-node 10.123.0.2', 'node server sees the client address');

  const timed = Date.now();
  await inNs(b, 'curl', ['-sS', '--fail', '--max-time', '5', 'http://10.123.0.1:8081/']);
  t.comment(`one curl through ip netns exec: ${Date.now() - timed} ms`);
});

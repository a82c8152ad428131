// deploy/: every manifest validates against Kubernetes' schemas (kubernetes-models: JSON schema
// for types and required fields; TypeScript's excess-property check for unknown fields), the
// fields the issue asks for are there, and every command line in them is accepted by our CLI.
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { main, loadConfiguration } from '../../src/cli/app.js';
import { parseAuditFlags } from '../../src/audit/command.js';
import { parseConfiguration } from '../../src/config/file.js';
import { renderKustomization, readYamlFile, type KubeObject } from './fixtures/kustomize-lite.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const DEPLOY = join(REPO, 'deploy');
const FIXTURE_MANIFESTS = join(REPO, 'test/deploy/fixtures/manifests');

const base = renderKustomization(DEPLOY);
const privileged = renderKustomization(join(DEPLOY, 'overlays/privileged'));
const benchmark = renderKustomization(join(DEPLOY, 'benchmark'));
const perNode = ['migrate-from-kube-proxy.yaml', 'rollback-to-kube-proxy.yaml'].map((f) => readYamlFile(join(DEPLOY, 'jobs', f))[0]!);
const auditNodeJob = readYamlFile(join(DEPLOY, 'rule-audit/audit-node-job.yaml'))[0]!;
const all: KubeObject[] = [...base.objects, ...benchmark.objects, ...perNode, auditNodeJob];

const find = (objects: KubeObject[], kind: string, name?: string): KubeObject => {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata?.name === name || x.metadata?.generateName === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''}`);
  return o;
};
const podSpec = (o: KubeObject): KubeObject => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec);

/** kubernetes-models module path of an apiVersion/kind. */
function modelPath(o: KubeObject): string {
  const [group, version] = String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/') : [undefined, o.apiVersion];
  return `kubernetes-models/${group ? `${group}/` : ''}${version}/${o.kind}`;
}

t.test('every YAML file in deploy/ is rendered by a kustomization or is a per-node Job template', async (t) => {
  const rendered = new Set([...base.files, ...privileged.files.map((f) => f.replace(/^(\.\.\/)+/, '')), ...benchmark.files.map((f) => join('benchmark', f))]);
  const yamlFiles = (dir: string, prefix = ''): string[] =>
    readdirSync(join(DEPLOY, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? yamlFiles(join(dir, e.name), join(prefix, e.name)) : e.name.endsWith('.yaml') && e.name !== 'kustomization.yaml' ? [join(prefix, e.name)] : [],
    );
  for (const file of yamlFiles('.')) {
    const onDemand = file.startsWith('jobs/');
    t.ok(rendered.has(file) || onDemand, `${file} is ${onDemand ? 'a per-node template' : 'rendered'}`);
  }
  t.same(privileged.objects.map((o) => `${o.kind}/${o.metadata.name}`), base.objects.map((o) => `${o.kind}/${o.metadata.name}`), 'the overlay changes, adds nothing');
});

t.test('JSON schema validation (kubernetes-models)', async (t) => {
  for (const o of [...all, ...privileged.objects]) {
    const mod = (await import(modelPath(o))) as Record<string, new (data: unknown) => { validate(): void }>;
    const Model = mod[o.kind];
    t.ok(Model, `${modelPath(o)} exists`);
    t.doesNotThrow(() => new Model!(o).validate(), `${o.kind} ${o.metadata.name ?? o.metadata.generateName} is valid`);
  }
});

t.test('no unknown fields: each object type-checks as its Kubernetes type', async (t) => {
  const lines: string[] = [];
  all.forEach((o, i) => {
    lines.push(`import type { I${o.kind} as T${i} } from '${modelPath(o)}';`);
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(o)};`);
  });
  const fileName = join(REPO, 'test/deploy/__manifest_types__.ts');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2023, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === fileName ? ts.createSourceFile(name, lines.join('\n'), lang) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === fileName);
  const text = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n');
  t.equal(diagnostics.length, 0, text);
  // The check is real: an unknown field is caught.
  const bad = ts.createProgram([fileName], options, {
    ...host,
    getSourceFile: (name, lang, ...rest) =>
      name === fileName ? ts.createSourceFile(name, `import type { IJob } from 'kubernetes-models/batch/v1/Job';\nexport const j: IJob = { apiVersion: 'batch/v1', kind: 'Job', spec: { backofLimit: 1, template: {} } };`, lang) : getSourceFile(name, lang, ...rest),
  });
  t.match(ts.getPreEmitDiagnostics(bad).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join(' '), /backofLimit/);
});

t.test('RBAC: the proxy is bound to system:node-proxier and nothing else', async (t) => {
  const sa = find(base.objects, 'ServiceAccount', 'kube-proxy-ts');
  const crb = find(base.objects, 'ClusterRoleBinding', 'kube-proxy-ts:node-proxier');
  t.same(crb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node-proxier' });
  t.same(crb.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
  const bindingsOfProxy = base.objects.filter((o) => /RoleBinding$/.test(o.kind) && o.subjects.some((s: KubeObject) => s.name === 'kube-proxy-ts'));
  t.equal(bindingsOfProxy.length, 1, 'one binding for the proxy');
  const ns = find(base.objects, 'Namespace', 'kube-proxy-ts');
  t.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged', 'host network and NET_ADMIN need the privileged level');
  for (const o of all) if (o.kind !== 'Namespace' && !/^Cluster/.test(o.kind)) t.ok(o.metadata.namespace, `${o.kind} ${o.metadata.name ?? o.metadata.generateName} names its namespace`);
});

t.test('DaemonSet: the kube-proxy replacement shape', async (t) => {
  const ds = find(base.objects, 'DaemonSet', 'kube-proxy-ts');
  const spec = podSpec(ds);
  const c = spec.containers[0];
  t.same(ds.spec.selector.matchLabels, { 'k8s-app': 'kube-proxy-ts' });
  t.equal(ds.spec.template.metadata.labels['k8s-app'], 'kube-proxy-ts');
  t.equal(ds.spec.updateStrategy.type, 'RollingUpdate');
  t.equal(spec.hostNetwork, true);
  t.equal(spec.priorityClassName, 'system-node-critical');
  t.same(spec.tolerations, [{ operator: 'Exists' }]);
  t.same(spec.nodeSelector, { 'kubernetes.io/os': 'linux' });
  t.equal(spec.serviceAccountName, 'kube-proxy-ts');
  t.same(c.env.find((e: KubeObject) => e.name === 'NODE_NAME').valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
  t.ok(c.args.includes('--hostname-override=$(NODE_NAME)'));
  t.ok(c.args.includes('--config=/var/lib/kube-proxy-ts/config.conf'));
  const mount = (path: string) => c.volumeMounts.find((m: KubeObject) => m.mountPath === path);
  const volume = (name: string) => spec.volumes.find((v: KubeObject) => v.name === name);
  t.same(volume(mount('/run/xtables.lock').name).hostPath, { path: '/run/xtables.lock', type: 'FileOrCreate' });
  t.equal(mount('/lib/modules').readOnly, true);
  t.same(volume(mount('/lib/modules').name).hostPath, { path: '/lib/modules' });
  t.equal(volume(mount('/var/lib/kube-proxy-ts').name).configMap.name, 'kube-proxy-ts');
  t.same(c.livenessProbe.httpGet, { path: '/livez', port: 10256 });
  t.same(c.readinessProbe.httpGet, { path: '/healthz', port: 10256 });
  t.ok(c.resources.requests.cpu && c.resources.requests.memory, 'resource requests');
  t.equal(c.securityContext.privileged, false);
  t.same(c.securityContext.capabilities, { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
  t.equal(c.image, 'localhost/kube-proxy-ts:0.1.0');

  const p = podSpec(find(privileged.objects, 'DaemonSet', 'kube-proxy-ts')).containers[0];
  t.equal(p.securityContext.privileged, true, 'the privileged overlay');
  t.ok(p.args.includes('--iptables-localhost-nodeports=true'));
});

/** `$(VAR)` expansion as the kubelet does it, for the variables the manifests use. */
function expand(args: readonly string[], env: Record<string, string>): string[] {
  return args.map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (m, name: string) => env[name] ?? m));
}

/** The ConfigMap's config.conf written to a temporary file; --config pointed at it. */
function withLocalConfig(t: Test, args: readonly string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'kpts-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.conf');
  writeFileSync(path, find(base.objects, 'ConfigMap', 'kube-proxy-ts').data['config.conf']);
  return args.map((a) => (a.startsWith('--config=') ? `--config=${path}` : a));
}

t.test('ConfigMap: a strict KubeProxyConfiguration the proxy accepts', async (t) => {
  const cm = find(base.objects, 'ConfigMap', 'kube-proxy-ts');
  const config = parseConfiguration(cm.data['config.conf'], 'config.conf');
  t.equal(config.mode, 'iptables');
  t.equal(config.metricsBindAddress, '0.0.0.0:10249', 'the benchmark scrapes every node');
  t.equal(config.healthzBindAddress, '0.0.0.0:10256', 'the probes reach it');
  t.equal(config.iptables.localhostNodePorts, false, 'no sysctl write in the unprivileged base');
  const loaded = await loadConfiguration(withLocalConfig(t, ['--config=x']));
  t.not(loaded, 'help');
});

t.test("the DaemonSet's command line runs with --dry-run (base and privileged)", async (t) => {
  for (const [name, rendered] of [['base', base], ['privileged', privileged]] as const) {
    const c = podSpec(find(rendered.objects, 'DaemonSet', 'kube-proxy-ts')).containers[0];
    const argv = [...withLocalConfig(t, expand(c.args, { NODE_NAME: 'node-a' })), `--manifests=${FIXTURE_MANIFESTS}`, '--dry-run', '--iptables-backend=nft', '--logging-format=json', '--v=0'];
    let out = '';
    let err = '';
    const code = await main(argv, { stdout: (s) => void (out += s), stderr: (s) => void (err += s) });
    t.equal(code, 0, `${name}: ${err}`);
    t.match(out, /-A KUBE-SERVICES -m comment --comment "default\/web:http cluster IP"/, `${name}: rules for the fixture's service`);
    t.match(out, /KUBE-NODEPORTS/);
  }
});

t.test("the Jobs' and the CronJob's command lines are accepted", async (t) => {
  for (const job of perNode) {
    const spec = podSpec(job);
    const steps = [...spec.initContainers, ...spec.containers];
    t.same(steps.map((s: KubeObject) => s.name), ['no-proxy-running', 'cleanup-nft', 'cleanup-legacy'], job.metadata.generateName);
    for (const step of steps.filter((s: KubeObject) => !s.command)) {
      const loaded = await loadConfiguration(step.args);
      if (loaded === 'help' || loaded === 'version') throw new Error('unexpected');
      t.equal(loaded.extra.cleanup, true, `${step.name}: --cleanup`);
      t.ok(['nft', 'legacy'].includes(loaded.extra.iptablesBackend), `${step.name}: an explicit backend`);
    }
    t.same(spec.initContainers[0].command, ['node', '/opt/kube-proxy-ts/dist/src/tools/assert-no-proxy.js']);
  }
  const audit = podSpec(auditNodeJob).containers[0];
  t.equal(audit.args[0], 'audit', 'the audit subcommand comes first');
  const options = parseAuditFlags(withLocalConfig(t, expand(audit.args.slice(1), { NODE_NAME: 'node-a' })));
  t.equal(options.attempts, 3);
  const loaded = await loadConfiguration(options.proxyArgs);
  if (loaded === 'help' || loaded === 'version') throw new Error('unexpected');
  t.equal(loaded.config.hostnameOverride, 'node-a');
});

t.test('Job and CronJob fields', async (t) => {
  for (const job of perNode) {
    const spec = podSpec(job);
    t.ok(job.spec.backoffLimit >= 0 && job.spec.backoffLimit <= 3, 'a small backoffLimit');
    t.ok(job.spec.activeDeadlineSeconds > 0);
    t.ok(job.spec.ttlSecondsAfterFinished > 0);
    t.equal(spec.restartPolicy, 'Never');
    t.equal(spec.nodeName, 'placeholder-node', 'one node, filled in by run-on-every-node.sh');
    t.equal(spec.hostNetwork, true);
    t.same(spec.tolerations, [{ operator: 'Exists' }]);
  }
  t.equal(find(base.objects, 'ServiceAccount', 'kube-proxy-ts').metadata.namespace, 'kube-proxy-ts');
  t.equal(perNode[1]!.metadata.namespace, 'kube-system', 'the rollback Job outlives the kube-proxy-ts namespace');

  const cron = find(base.objects, 'CronJob', 'rule-audit');
  t.equal(cron.spec.concurrencyPolicy, 'Forbid');
  t.ok(cron.spec.successfulJobsHistoryLimit >= 1 && cron.spec.successfulJobsHistoryLimit <= 5);
  t.ok(cron.spec.failedJobsHistoryLimit >= 1 && cron.spec.failedJobsHistoryLimit <= 10);
  t.ok(cron.metadata.name.length <= 52, 'CronJob names leave room for the Job suffix');
  t.match(cron.spec.schedule, /^(\S+ ){4}\S+$/);
  t.ok(cron.spec.startingDeadlineSeconds >= 10);
  t.equal(cron.spec.jobTemplate.spec.backoffLimit, 0);
  t.ok(cron.spec.jobTemplate.spec.activeDeadlineSeconds > 0);
  t.equal(podSpec(cron).restartPolicy, 'Never');
  const template = find(base.objects, 'ConfigMap', 'rule-audit-node-job');
  t.equal(template.data['audit-node-job.yaml'], readFileSync(join(DEPLOY, 'rule-audit/audit-node-job.yaml'), 'utf8'), 'the fan-out reads the validated template');
  t.equal(auditNodeJob.spec.backoffLimit, 0, 'drift is an answer, not a retry');
  t.ok(auditNodeJob.spec.activeDeadlineSeconds < cron.spec.jobTemplate.spec.activeDeadlineSeconds, 'a node audit ends before the fan-out gives up');

  const bench = find(benchmark.objects, 'Job', 'sync-latency-benchmark');
  t.equal(bench.spec.backoffLimit, 0);
  t.ok(bench.spec.activeDeadlineSeconds > 0);
  t.ok(bench.spec.ttlSecondsAfterFinished > 0);
  t.equal(podSpec(bench).restartPolicy, 'Never');
});

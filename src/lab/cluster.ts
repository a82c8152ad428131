/**
 * A lab cluster: a lab (two nodes, a client with two source addresses), a manifest directory the
 * proxy follows (standalone mode), and the proxy itself running in node1's namespace. The demo,
 * every mode's end-to-end tests and the benchmarks use it, so the same world proves every data
 * plane with real packets.
 */
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { Lab } from './lab.js';
import type { LabProcess } from './lab-process.js';
import type { PodInfo } from './lab.js';
import { DEFAULTS as LAB_DEFAULTS, type LabOptions } from './topology.js';
import type { IpFamily } from './addresses.js';
import type { ProxyMode } from '../sync/proxier.js';

/** The checkout's root, whether this file runs from source (tap) or from dist/. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

export const REPO = repoRoot();
export const PROXY_MAIN = join(REPO, 'dist/src/cli/main.js');

export interface ClusterOptions {
  readonly mode: ProxyMode;
  /** Extra proxy flags (e.g. --nftables-applier=nft). */
  readonly proxyArgs?: readonly string[];
  readonly lab?: LabOptions;
  /** Labels of node1's Node object (e.g. a zone). */
  readonly nodeLabels?: Record<string, string>;
}

type KubeObject = Record<string, unknown>;

export interface PortSpec {
  name?: string;
  port: number;
  targetPort?: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  nodePort?: number;
}

export interface EndpointOverride {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export class LabCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'kpt-manifests-'));
  proxy: LabProcess | undefined;
  /** Logs of proxies that have already stopped, for diagnostics. */
  private pastLogs = '';

  protected constructor(
    readonly lab: Lab,
    readonly opts: ClusterOptions,
  ) {}

  static async create(opts: ClusterOptions): Promise<LabCluster> {
    const lab = await Lab.create({ nodes: 2, clients: [{ name: 'client' }], ...opts.lab });
    const cluster = new LabCluster(lab, opts);
    cluster.writeNode(opts.nodeLabels ?? {});
    return cluster;
  }

  get families(): readonly IpFamily[] {
    return this.lab.topology.families;
  }

  /** The Node objects of both nodes, so node1's proxy knows its addresses and labels. */
  writeNode(labels: Record<string, string>): void {
    const nodes = this.lab.nodeNames.map((name) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: name === 'node1' ? labels : {} },
      spec: { podCIDRs: this.families.map((f) => this.lab.podCidr(name, f)) },
      status: { addresses: this.families.map((f) => ({ type: 'InternalIP', address: this.lab.nodeIp(name, f) })) },
    }));
    this.write('nodes', nodes);
  }

  /** Writes a manifest file atomically (the proxy never reads half a file). */
  write(name: string, objects: readonly KubeObject[]): void {
    const tmp = join(this.dir, `.${name}.tmp`);
    writeFileSync(tmp, objects.map((o) => stringify(o)).join('---\n'));
    renameSync(tmp, join(this.dir, `${name}.yaml`));
  }

  writeRaw(name: string, text: string): void {
    const tmp = join(this.dir, `.${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.dir, `${name}.yaml`));
  }

  remove(name: string): void {
    rmSync(join(this.dir, `${name}.yaml`), { force: true });
  }

  proxyArgv(extra: readonly string[] = []): string[] {
    const clusterCIDRs = this.families.map((f) => this.lab.topology.clusterCidrs[f]).join(',');
    return [
      process.execPath,
      PROXY_MAIN,
      `--proxy-mode=${this.opts.mode}`,
      `--manifests=${this.dir}`,
      '--hostname-override=node1',
      `--cluster-cidr=${clusterCIDRs}`,
      '--min-sync-period=0s',
      '--sync-period=10s',
      '--logging-format=json',
      '--v=2',
      ...(this.opts.proxyArgs ?? []),
      ...extra,
    ];
  }

  /** Starts the proxy in node1 and waits until it has synced once and /healthz answers 200. */
  async startProxy(extra: readonly string[] = []): Promise<LabProcess> {
    const proc = this.lab.spawn('node1', this.proxyArgv(extra));
    this.proxy = proc;
    await this.waitFor(async () => (await this.metric('kubeproxy_sync_proxy_rules_last_timestamp_seconds')) > 0, 'the first sync', 30_000);
    return proc;
  }

  /** SIGTERM: the proxy exits and, as upstream, leaves its rules in place. */
  async stopProxy(): Promise<{ code: number | null } | undefined> {
    const p = this.proxy;
    if (!p) return undefined;
    const exit = await p.stop();
    this.pastLogs += p.stderr;
    this.proxy = undefined;
    return exit;
  }

  /** Runs the proxy binary once in node1 (e.g. --cleanup) and returns its result. */
  async runProxyOnce(extra: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const r = await this.lab.exec('node1', this.proxyArgv(extra), { allowFailure: true, timeoutMs: 60_000 });
    return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** The proxy's log lines so far (for failure diagnostics). */
  proxyLog(): string {
    return this.pastLogs + (this.proxy?.stderr ?? '');
  }

  /** A metric's value summed over its series (0 when absent), scraped from node1's 127.0.0.1:10249. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await this.scrape();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const m = line.match(/^([a-z_]+)(\{[^}]*\})? (\S+)$/);
      if (!m || m[1] !== name) continue;
      if (Object.entries(labels).some(([k, v]) => !(m[2] ?? '').includes(`${k}="${v}"`))) continue;
      sum += Number(m[3]);
    }
    return sum;
  }

  async scrape(): Promise<string> {
    const [r] = await this.lab.http('node1', '127.0.0.1', 10249, { path: '/metrics', timeoutMs: 2000 });
    return r?.ok ? (r.body ?? '') : '';
  }

  /** Polls until `check` is true; fails with `what` after the deadline. */
  async waitFor(check: () => Promise<boolean>, what: string | (() => string), deadlineMs = 20_000): Promise<void> {
    // The lab's time scale (slow emulated VMs) stretches every deadline alike.
    const end = Date.now() + deadlineMs * this.lab.timeouts.readyMs / LAB_DEFAULTS.timeouts.readyMs;
    for (;;) {
      try {
        if (await check()) return;
      } catch {
        // not yet
      }
      if (Date.now() > end) {
        const description = typeof what === 'string' ? what : what();
        throw new Error(`timed out waiting for ${description}\n--- proxy log (end) ---\n${this.proxyLog().slice(-3000)}\n--- node1 ---\n${await this.diagnose()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits until a sync newer than now has completed and nothing is pending. */
  async waitForSync(): Promise<void> {
    const since = Date.now() / 1000;
    await this.waitFor(async () => {
      const last = await this.metric('kubeproxy_sync_proxy_rules_last_timestamp_seconds');
      return last >= since;
    }, 'a sync after the change');
  }

  /** node1's data-plane state, for failure messages: rules with counters and conntrack. */
  async diagnose(): Promise<string> {
    const parts: string[] = [];
    for (const argv of [['iptables-save', '-c'], ['nft', 'list', 'ruleset'], ['ipvsadm', '-Ln'], ['conntrack', '-L']]) {
      const r = await this.lab.exec('node1', argv, { allowFailure: true, timeoutMs: 10_000 }).catch((e: unknown) => ({ stdout: '', stderr: String(e), code: -1 }));
      const text = (r.stdout || r.stderr).trim();
      if (text) parts.push(`$ ${argv.join(' ')}\n${text.split('\n').filter((l) => !/KUBE-PROXY-CANARY|^#/.test(l)).slice(0, 150).join('\n')}`);
    }
    return parts.join('\n');
  }

  // ------------------------------------------------------------------------------------------
  // Objects

  service(name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject {
    return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name }, spec, ...(status ? { status } : {}) };
  }

  /** An EndpointSlice for `svc` listing `pods` (one family), with their node names. */
  slice(svc: string, pods: readonly PodInfo[], ports: readonly PortSpec[], opts: { family?: IpFamily; name?: string; conditions?: Record<string, EndpointOverride> } = {}): KubeObject {
    const family = opts.family ?? 'IPv4';
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: 'default', name: opts.name ?? `${svc}-${family.toLowerCase()}`, labels: { 'kubernetes.io/service-name': svc } },
      addressType: family,
      endpoints: pods.map((p) => ({
        addresses: [p.ips[family]],
        nodeName: p.node,
        conditions: opts.conditions?.[p.name] ?? { ready: true },
      })),
      ports: ports.map((p) => ({ name: p.name ?? '', port: p.targetPort ?? p.port, protocol: p.protocol ?? 'TCP' })),
    };
  }

  async destroy(): Promise<void> {
    await this.stopProxy().catch(() => undefined);
    await this.lab.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

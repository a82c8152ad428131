/**
 * The network-namespace lab: a LAN with node and client namespaces, pods routed from their node,
 * backends in the pods, and agents that send real traffic. See README.md for the picture.
 */
import { AgentClient } from './agent-client.js';
import type { HttpProbeSpec, HttpResult, ProbeResult, ProbeSpec, UdpResult } from './agent-protocol.js';
import { cidrContains, familyOf, type IpFamily, type PerFamily } from './addresses.js';
import { registerForExitCleanup, unregisterFromExitCleanup, type SyncDestroyable } from './exit-cleanup.js';
import { gcStaleLabs } from './gc.js';
import { ipBatch } from './ip-batch.js';
import { LabProcess } from './lab-process.js';
import {
  createNetns,
  deleteNetns,
  deleteNetnsSync,
  killPids,
  listNetns,
  netnsInode,
  pidsInNetns,
  waitForPidsGone,
} from './namespaces.js';
import { netnsArgv, spawnInNetns } from './netns-spawn.js';
import { netnsNameFor, newLabId } from './owner.js';
import { clientBatch, clientSysctls, icmpUnlimitedSysctls, lanBatch, nodeBatch, nodeSysctls, podBatch, podNodeBatch, podVethName, type PodPlan } from './plan.js';
import { describeResults } from './results.js';
import { run, type RunResult } from './run.js';
import {
  hostAddress,
  resolveTimeouts,
  resolveTopology,
  validateName,
  type LabOptions,
  type LabTimeouts,
  type LabTopology,
} from './topology.js';

export interface PodSpec {
  name: string;
  /** Default: the first node. */
  node?: string;
  /** The pod's address (one family); by default the next free address of the node's pod CIDR. */
  ip?: string;
  /** The pod's addresses, at most one per family; families not given are allocated. */
  ips?: string[];
  /** Default [8080]. */
  tcpPorts?: number[];
  /** Default []. */
  udpPorts?: number[];
  /** Start the backend at once (default true); false leaves the pod silent until startBackend. */
  serve?: boolean;
}

export interface PodInfo {
  readonly name: string;
  readonly node: string;
  readonly netns: string;
  /** The pod's veth on the node side. */
  readonly veth: string;
  readonly ips: PerFamily<string>;
  /** The address of the lab's first family. */
  readonly ip: string;
  readonly tcpPorts: readonly number[];
  readonly udpPorts: readonly number[];
}

export interface ProbeOptions {
  /** Requests to send; each on its own connection (TCP) or socket (UDP). Default 1. */
  count?: number;
  /** Requests in flight at once. Default 16. */
  concurrency?: number;
  /** Per request; after it the request counts as a timeout. Default the lab's requestMs (2 s). */
  timeoutMs?: number;
  /** Send from this local address (it must belong to the sending namespace). */
  sourceAddress?: string;
}

export interface HttpOptions extends ProbeOptions {
  /** Default "/". The lab backends honour "?delay=<ms>". */
  path?: string;
}

export interface WaitOptions<R> extends HttpOptions {
  /** What counts as ready. Default: the request was answered. */
  until?: (result: R) => boolean;
  /** Overall deadline. Default the lab's readyMs. */
  deadlineMs?: number;
  /** Pause between attempts. Default 50 ms. */
  intervalMs?: number;
}

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

type MemberKind = 'lan' | 'node' | 'client' | 'pod';

interface Member {
  kind: MemberKind;
  netns: string;
}

interface PodState extends PodInfo {
  serving: boolean;
}

/** Where pods get their host numbers from: .2 upwards (.1 reads like a gateway). */
const FIRST_POD_HOST = 2;

export class Lab implements SyncDestroyable {
  private readonly members = new Map<string, Member>();
  private readonly podStates = new Map<string, PodState>();
  private readonly agents = new Map<string, AgentClient>();
  private readonly processes = new Set<LabProcess>();
  private readonly nextPodHost = new Map<string, number>();
  private readonly usedPodIps = new Set<string>();
  private podCounter = 0;
  private destroying: Promise<void> | undefined;

  private constructor(
    /** `kplab-<pid>-<start>-<n>`: the prefix of every namespace this lab owns. */
    readonly id: string,
    readonly topology: LabTopology,
    readonly timeouts: LabTimeouts,
  ) {}

  /**
   * Builds the LAN, nodes and clients. Stale labs of dead processes are collected first (opt out
   * with `gc: false`). Whatever happens afterwards, the lab removes itself when the process ends.
   */
  static async create(options: LabOptions & { gc?: boolean } = {}): Promise<Lab> {
    const topology = resolveTopology(options);
    if (options.gc !== false) await gcStaleLabs().catch(() => undefined);
    const lab = new Lab(newLabId(), topology, resolveTimeouts(options));
    registerForExitCleanup(lab);
    try {
      await lab.build();
    } catch (e) {
      await lab.destroy().catch(() => undefined);
      throw e;
    }
    return lab;
  }

  private addMember(name: string, kind: MemberKind): string {
    const netns = netnsNameFor(this.id, name);
    this.members.set(name, { kind, netns });
    return netns;
  }

  private async build(): Promise<void> {
    const t = this.topology;
    // Recorded before they exist, so an interruption half-way still cleans up everything.
    const lan = this.addMember('lan', 'lan');
    for (const n of t.nodes) this.addMember(n.name, 'node');
    for (const c of t.clients) this.addMember(c.name, 'client');
    const commandMs = this.timeouts.commandMs;

    await createNetns([...this.members.values()].map((m) => m.netns), commandMs);
    await ipBatch(lanBatch(t, (name) => this.netns(name)), { netns: lan, timeoutMs: commandMs });
    const settings = (list: { key: string; value: string }[]) => ['sysctl', '-q', '-w', ...list.map((s) => `${s.key}=${s.value}`)];
    // Settings first: some of them (DAD) only count if they are in place before the uplink is up.
    const member = async (name: string, sysctls: { key: string; value: string }[], batch: string[]) => {
      await this.exec(name, settings(sysctls));
      await ipBatch(batch, { netns: this.netns(name), timeoutMs: commandMs });
    };
    await Promise.all([
      ...t.nodes.map((n) => member(n.name, nodeSysctls(t), nodeBatch(t, n))),
      ...t.clients.map((c) => member(c.name, clientSysctls(t), clientBatch(t, c))),
    ]);
  }

  private assertLive(): void {
    if (this.destroying) throw new Error(`lab ${this.id} is destroyed`);
  }

  // -------------------------------------------------------------------------------------------
  // Names and addresses

  /** The real namespace name behind a lab name (node1, client, web-1, lan). */
  netns(name: string): string {
    const m = this.members.get(name);
    if (!m) throw new Error(`lab: no namespace called ${JSON.stringify(name)} (have: ${[...this.members.keys()].join(', ')})`);
    return m.netns;
  }

  /** Every namespace of the lab: lab name -> namespace name. */
  namespaces(): Record<string, string> {
    return Object.fromEntries([...this.members].map(([name, m]) => [name, m.netns]));
  }

  get nodeNames(): string[] {
    return this.topology.nodes.map((n) => n.name);
  }

  get clientNames(): string[] {
    return this.topology.clients.map((c) => c.name);
  }

  private family(family: IpFamily | undefined): IpFamily {
    const f = family ?? this.topology.families[0]!;
    if (!this.topology.families.includes(f)) throw new Error(`lab: this lab has no ${f}`);
    return f;
  }

  nodeIp(node: string = this.nodeNames[0]!, family?: IpFamily): string {
    const n = this.topology.nodes.find((x) => x.name === node);
    if (!n) throw new Error(`lab: no node called ${JSON.stringify(node)}`);
    return n.ips[this.family(family)]!;
  }

  podCidr(node: string = this.nodeNames[0]!, family?: IpFamily): string {
    const n = this.topology.nodes.find((x) => x.name === node);
    if (!n) throw new Error(`lab: no node called ${JSON.stringify(node)}`);
    return n.podCidrs[this.family(family)]!;
  }

  /** A client's `index`-th address; index 0 is the one it sends from by default. */
  clientIp(client: string = this.clientNames[0]!, family?: IpFamily, index = 0): string {
    const c = this.topology.clients.find((x) => x.name === client);
    const ip = c?.ips[this.family(family)]?.[index];
    if (!ip) throw new Error(`lab: client ${client} has no ${this.family(family)} address #${index}`);
    return ip;
  }

  /** The n-th address of the service CIDR (10.96.0.n / fd00:10:96::n), for ClusterIPs. */
  serviceIp(n: number, family?: IpFamily): string {
    return hostAddress(this.topology.serviceCidrs[this.family(family)]!, n);
  }

  /** The n-th external IP (198.51.100.n / fd00:198:51:100::n); clients route it via the ingress node. */
  externalIp(n: number, family?: IpFamily): string {
    return hostAddress(this.topology.externalIpCidrs[this.family(family)]!, n);
  }

  /** The n-th LoadBalancer IP (203.0.113.n / fd00:203:0:113::n); clients route it via the ingress node. */
  loadBalancerIp(n: number, family?: IpFamily): string {
    return hostAddress(this.topology.loadBalancerCidrs[this.family(family)]!, n);
  }

  pod(name: string): PodInfo {
    const p = this.podStates.get(name);
    if (!p) throw new Error(`lab: no pod called ${JSON.stringify(name)}`);
    return p;
  }

  podIp(name: string, family?: IpFamily): string {
    const ip = this.pod(name).ips[this.family(family)];
    if (!ip) throw new Error(`lab: pod ${name} has no ${this.family(family)} address`);
    return ip;
  }

  /** Pods, in the order they were added; only those on `node` when given. */
  pods(node?: string): PodInfo[] {
    return [...this.podStates.values()].filter((p) => node === undefined || p.node === node);
  }

  // -------------------------------------------------------------------------------------------
  // Pods

  private allocatePodIps(spec: PodSpec, node: string): PerFamily<string> {
    const given = [...(spec.ips ?? []), ...(spec.ip ? [spec.ip] : [])];
    const ips: PerFamily<string> = {};
    for (const ip of given) {
      const f = familyOf(ip);
      if (!this.topology.families.includes(f)) throw new Error(`lab: pod ${spec.name}: this lab has no ${f} (${ip})`);
      if (ips[f]) throw new Error(`lab: pod ${spec.name}: two ${f} addresses given`);
      if (this.usedPodIps.has(ip)) throw new Error(`lab: pod ${spec.name}: ${ip} is already used`);
      ips[f] = ip;
    }
    const missing = this.topology.families.filter((f) => !ips[f]);
    if (missing.length > 0) {
      // One host number for all missing families, so the addresses read alike (10.244.1.7, fd00:10:244:1::7).
      let host = this.nextPodHost.get(node) ?? FIRST_POD_HOST;
      const at = (f: IpFamily, h: number) => hostAddress(this.podCidr(node, f), h);
      while (missing.some((f) => this.usedPodIps.has(at(f, host)))) host++;
      for (const f of missing) ips[f] = at(f, host);
      this.nextPodHost.set(node, host + 1);
    }
    for (const ip of Object.values(ips)) this.usedPodIps.add(ip);
    return ips;
  }

  private validatePodSpec(spec: PodSpec, batch: PodSpec[]): void {
    validateName('pod', spec.name);
    if (this.members.has(spec.name) || batch.filter((s) => s.name === spec.name).length > 1) {
      throw new Error(`lab: the name ${JSON.stringify(spec.name)} is already taken`);
    }
    const node = spec.node ?? this.nodeNames[0]!;
    if (!this.nodeNames.includes(node)) throw new Error(`lab: pod ${spec.name}: no node called ${JSON.stringify(node)}`);
    for (const p of [...(spec.tcpPorts ?? []), ...(spec.udpPorts ?? [])]) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`lab: pod ${spec.name}: bad port ${p}`);
    }
  }

  addPod(spec: PodSpec): Promise<PodInfo> {
    return this.addPods([spec]).then((pods) => pods[0]!);
  }

  /**
   * Adds pods in bulk with a constant number of steps (not per pod): one `ip netns add` batch, one
   * batch per node, then every pod's own configuration and backend in parallel. Resolves when every
   * backend listens on its ports.
   */
  async addPods(specs: PodSpec[]): Promise<PodInfo[]> {
    this.assertLive();
    for (const spec of specs) this.validatePodSpec(spec, specs);
    const commandMs = this.timeouts.commandMs;
    const pods: PodState[] = specs.map((spec) => {
      const node = spec.node ?? this.nodeNames[0]!;
      const netns = this.addMember(spec.name, 'pod');
      const ips = this.allocatePodIps(spec, node);
      const state: PodState = {
        name: spec.name,
        node,
        netns,
        veth: podVethName(++this.podCounter),
        ips,
        ip: ips[this.topology.families[0]!]!,
        tcpPorts: spec.tcpPorts ?? [8080],
        udpPorts: spec.udpPorts ?? [],
        serving: false,
      };
      this.podStates.set(spec.name, state);
      return state;
    });
    const plan = (p: PodState): PodPlan => ({ podNetns: p.netns, veth: p.veth, ips: p.ips });
    try {
      await createNetns(
        pods.map((p) => p.netns),
        commandMs,
      );
      // Node start-up is the slow part under emulation: overlap it with the plumbing.
      const agents = pods.map((p) => this.agent(p.name));
      await Promise.all(
        this.nodeNames.map((node) =>
          ipBatch(
            pods.filter((p) => p.node === node).flatMap((p) => podNodeBatch(plan(p))),
            { netns: this.netns(node), timeoutMs: commandMs },
          ),
        ),
      );
      await Promise.all(pods.map((p) => ipBatch(podBatch(plan(p)), { netns: p.netns, timeoutMs: commandMs })));
      await Promise.all(agents);
      await Promise.all(specs.map((s, i) => (s.serve === false ? undefined : this.startBackend(pods[i]!.name))));
    } catch (e) {
      await Promise.all(pods.map((p) => this.removePod(p.name).catch(() => undefined)));
      throw e;
    }
    return pods.map((p) => this.pod(p.name));
  }

  /** Deletes the pod: its backend, every process in it, its veth and routes, its namespace. */
  async removePod(name: string): Promise<void> {
    const pod = this.podStates.get(name);
    if (!pod) throw new Error(`lab: no pod called ${JSON.stringify(name)}`);
    const inode = netnsInode(pod.netns);
    await this.agents.get(name)?.stop();
    this.agents.delete(name);
    for (const p of this.processes) if (p.ns === name) p.signal('SIGKILL');
    // Deleting the veth here, not by deleting the namespace: namespace teardown is asynchronous in
    // the kernel, and a pod re-added under the same name must not find the old routes.
    await ipBatch([`link del ${pod.veth}`], { netns: this.netns(pod.node), force: true, timeoutMs: this.timeouts.commandMs });
    if (inode) {
      const strays = pidsInNetns([inode]);
      killPids(strays);
      await waitForPidsGone(strays, this.timeouts.stopMs);
    }
    await deleteNetns([pod.netns], this.timeouts.commandMs);
    this.podStates.delete(name);
    this.members.delete(name);
  }

  /** Closes the backend's listeners (and open connections): new requests are refused. */
  async stopBackend(name: string): Promise<void> {
    this.assertLive();
    await (await this.agent(name)).request({ op: 'stop' }, this.timeouts.commandMs);
    const pod = this.podStates.get(name);
    if (pod) pod.serving = false;
  }

  /**
   * (Re)starts a backend. For a pod, on its own ports unless others are given; any other namespace
   * (a node, for host-network endpoints) can serve too, answering with its lab name as "pod".
   */
  async startBackend(name: string, ports: { tcpPorts?: number[]; udpPorts?: number[] } = {}): Promise<void> {
    this.assertLive();
    const pod = this.podStates.get(name);
    const tcpPorts = [...(ports.tcpPorts ?? pod?.tcpPorts ?? [])];
    const udpPorts = [...(ports.udpPorts ?? pod?.udpPorts ?? [])];
    await (await this.agent(name)).request({ op: 'serve', tcpPorts, udpPorts }, this.timeouts.commandMs);
    if (pod) this.podStates.set(name, { ...pod, tcpPorts, udpPorts, serving: true });
  }

  // -------------------------------------------------------------------------------------------
  // Traffic

  /** The namespace's agent, started on first use. */
  private async agent(name: string): Promise<AgentClient> {
    this.assertLive();
    let agent = this.agents.get(name);
    if (!agent || !agent.running) {
      // A pod's agent also sets up its namespace: pods get no sysctl process of their own.
      const sysctls = this.members.get(name)?.kind === 'pod' ? icmpUnlimitedSysctls(this.topology) : [];
      agent = AgentClient.spawn(this.netns(name), name, sysctls);
      this.agents.set(name, agent);
    }
    await agent.ready(this.timeouts.agentStartMs);
    return agent;
  }

  private probeSpec(host: string, port: number, options: ProbeOptions): ProbeSpec {
    const spec: ProbeSpec = {
      // Accept "[fd00::1]" as well as "fd00::1".
      host: host.replace(/^\[(.*)\]$/, '$1'),
      port,
      count: options.count ?? 1,
      concurrency: options.concurrency ?? 16,
      timeoutMs: options.timeoutMs ?? this.timeouts.requestMs,
    };
    if (options.sourceAddress) spec.sourceAddress = options.sourceAddress;
    return spec;
  }

  /** The longest a batch of probes can take, plus room for a slow agent. */
  private batchDeadline(spec: ProbeSpec): number {
    return Math.ceil(spec.count / Math.max(1, spec.concurrency)) * (spec.timeoutMs + 1000) + this.timeouts.agentStartMs;
  }

  /** HTTP GETs from namespace `from` (a node, client or pod) to host:port, one result per request. */
  async http(from: string, host: string, port: number, options: HttpOptions = {}): Promise<HttpResult[]> {
    const probe: HttpProbeSpec = { ...this.probeSpec(host, port, options), path: options.path ?? '/' };
    return (await this.agent(from)).request<HttpResult[]>({ op: 'http', probe }, this.batchDeadline(probe));
  }

  /** UDP datagrams from namespace `from` to host:port, each from a new socket, one result per datagram. */
  async udp(from: string, host: string, port: number, options: ProbeOptions = {}): Promise<UdpResult[]> {
    const probe = this.probeSpec(host, port, options);
    return (await this.agent(from)).request<UdpResult[]>({ op: 'udp', probe }, this.batchDeadline(probe));
  }

  /** Polls with single requests until one satisfies `until` (default: answered); returns it. */
  waitForHttp(from: string, host: string, port: number, options: WaitOptions<HttpResult> = {}): Promise<HttpResult> {
    return this.poll(`HTTP ${host}:${port} from ${from}`, () => this.http(from, host, port, { ...options, count: 1 }), options);
  }

  waitForUdp(from: string, host: string, port: number, options: WaitOptions<UdpResult> = {}): Promise<UdpResult> {
    return this.poll(`UDP ${host}:${port} from ${from}`, () => this.udp(from, host, port, { ...options, count: 1 }), options);
  }

  private async poll<R extends ProbeResult>(what: string, once: () => Promise<R[]>, options: WaitOptions<R>): Promise<R> {
    const until = options.until ?? ((r: R) => r.ok);
    const deadline = Date.now() + (options.deadlineMs ?? this.timeouts.readyMs);
    let last: R | undefined;
    for (;;) {
      last = (await once())[0]!;
      if (until(last)) return last;
      if (Date.now() >= deadline) {
        throw new Error(`lab: ${what} not as expected before the deadline; last: ${JSON.stringify(last)} (${describeResults([last])})`);
      }
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Processes

  /** Runs a command to completion inside a lab namespace (argument array, no shell). */
  exec(ns: string, argv: string[], options: ExecOptions = {}): Promise<RunResult> {
    this.assertLive();
    return run(netnsArgv(this.netns(ns), argv, { tieToParent: false }), {
      timeoutMs: options.timeoutMs ?? this.timeouts.commandMs,
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.allowFailure ? { allowFailure: true } : {}),
    });
  }

  /**
   * Starts a long-running process inside a lab namespace, in its own process group. It is killed
   * (with everything it started) by destroy(), and by the kernel if this process dies first.
   */
  spawn(ns: string, argv: string[], options: SpawnOptions = {}): LabProcess {
    this.assertLive();
    const child = spawnInNetns(this.netns(ns), argv, { ...options, detached: true });
    const proc: LabProcess = new LabProcess(ns, argv, child, this.timeouts.stopMs, () => this.processes.delete(proc));
    this.processes.add(proc);
    return proc;
  }

  // -------------------------------------------------------------------------------------------
  // Teardown

  private namespaceNames(): string[] {
    // Pods first: their veths go with them before the nodes they hang off.
    const kinds: MemberKind[] = ['pod', 'client', 'node', 'lan'];
    return kinds.flatMap((k) => [...this.members.values()].filter((m) => m.kind === k).map((m) => m.netns));
  }

  /** Kills every process of the lab and removes every namespace it created. Safe to call twice. */
  destroy(): Promise<void> {
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    const names = this.namespaceNames();
    const inodes = names.map(netnsInode).filter((i): i is string => i !== undefined);
    for (const p of this.processes) p.signal('SIGKILL');
    for (const a of this.agents.values()) a.kill();
    const exits = [...[...this.processes].map((p) => p.exited), ...[...this.agents.values()].map((a) => a.exited)];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(exits), new Promise((r) => (timer = setTimeout(r, this.timeouts.stopMs)))]);
    clearTimeout(timer);
    // Whatever else runs in the lab's namespaces: children of spawned processes, `exec`s in flight.
    const strays = pidsInNetns(inodes);
    killPids(strays);
    await waitForPidsGone(strays, this.timeouts.stopMs);
    await deleteNetns(names, this.timeouts.commandMs);
    unregisterFromExitCleanup(this);
    const left = names.filter((n) => listNetns().includes(n));
    if (left.length > 0) throw new Error(`lab ${this.id}: namespaces left behind: ${left.join(', ')}`);
  }

  /** The exit-handler path: synchronous, best effort, never throws. */
  destroySync(): void {
    this.destroying ??= Promise.resolve();
    const names = this.namespaceNames();
    const inodes = names.map(netnsInode).filter((i): i is string => i !== undefined);
    for (const p of this.processes) p.signal('SIGKILL');
    for (const a of this.agents.values()) a.kill();
    killPids(pidsInNetns(inodes));
    deleteNetnsSync(names);
  }

  /** Whether an address belongs to one of the lab's pod CIDRs (for tests checking where traffic went). */
  isPodIp(ip: string): boolean {
    return this.topology.families.some((f) => cidrContains(this.topology.clusterCidrs[f]!, ip));
  }
}

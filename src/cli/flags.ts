import { parseDuration } from '../config/duration.js';
import type { ExtraOptions, KubeProxyConfiguration } from '../config/types.js';

/** A bad command line: reported with the usage hint, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Kind = 'string' | 'bool' | 'int' | 'float' | 'duration' | 'list' | 'map';

interface FlagDef {
  readonly name: string;
  readonly kind: Kind;
  readonly help: string;
  readonly apply: (c: KubeProxyConfiguration, x: ExtraOptions, v: FlagValue) => void;
  readonly deprecated?: string;
}

type FlagValue = string | boolean | number | string[] | Record<string, boolean>;

const s = (v: FlagValue) => v as string;
const b = (v: FlagValue) => v as boolean;
const n = (v: FlagValue) => v as number;
const l = (v: FlagValue) => v as string[];

/**
 * kube-proxy's flags (cmd/kube-proxy/app/options.go) with their upstream names, plus ours.
 * `--iptables-(min-)sync-period` also set the nftables periods, as upstream does for non-IPVS modes.
 */
const FLAGS: readonly FlagDef[] = [
  { name: 'config', kind: 'string', help: 'Path to a KubeProxyConfiguration file', apply: (_c, x, v) => (x.configFile = s(v)) },
  { name: 'write-config-to', kind: 'string', help: 'Write the effective configuration to this file and exit', apply: (_c, x, v) => (x.writeConfigTo = s(v)) },
  { name: 'cleanup', kind: 'bool', help: 'Remove every rule any mode created, then exit', apply: (_c, x, v) => (x.cleanup = b(v)) },
  { name: 'init-only', kind: 'bool', help: 'Accepted for compatibility; privileged setup happens at start', apply: () => {} },
  { name: 'feature-gates', kind: 'map', help: 'key=value pairs of feature gates', apply: (c, _x, v) => Object.assign(c.featureGates, v as Record<string, boolean>) },
  { name: 'kubeconfig', kind: 'string', help: 'Path to a kubeconfig file', apply: (c, _x, v) => (c.clientConnection.kubeconfig = s(v)) },
  { name: 'master', kind: 'string', help: 'Address of the Kubernetes API server (overrides the kubeconfig)', apply: (_c, x, v) => (x.master = s(v)) },
  { name: 'kube-api-content-type', kind: 'string', help: 'Content type of requests sent to the API server', apply: (c, _x, v) => (c.clientConnection.contentType = s(v)) },
  { name: 'kube-api-qps', kind: 'float', help: 'QPS to use while talking to the API server', apply: (c, _x, v) => (c.clientConnection.qps = n(v)) },
  { name: 'kube-api-burst', kind: 'int', help: 'Burst to use while talking to the API server', apply: (c, _x, v) => (c.clientConnection.burst = n(v)) },
  { name: 'hostname-override', kind: 'string', help: 'Name of this node, instead of the hostname', apply: (c, _x, v) => (c.hostnameOverride = s(v)) },
  { name: 'bind-address', kind: 'string', help: 'Primary node IP override and family of the default listeners', apply: (c, _x, v) => (c.bindAddress = s(v)) },
  { name: 'healthz-bind-address', kind: 'string', help: 'ip:port of the health server (/healthz, /livez)', apply: (c, _x, v) => (c.healthzBindAddress = s(v)) },
  { name: 'metrics-bind-address', kind: 'string', help: 'ip:port of the metrics server (/metrics)', apply: (c, _x, v) => (c.metricsBindAddress = s(v)) },
  { name: 'bind-address-hard-fail', kind: 'bool', help: 'Exit when a listener cannot bind', apply: (c, _x, v) => (c.bindAddressHardFail = b(v)) },
  { name: 'profiling', kind: 'bool', help: 'Accepted for compatibility', apply: (c, _x, v) => (c.enableProfiling = b(v)) },
  { name: 'show-hidden-metrics-for-version', kind: 'string', help: 'Accepted for compatibility', apply: (c, _x, v) => (c.showHiddenMetricsForVersion = s(v)) },
  { name: 'proxy-mode', kind: 'string', help: 'iptables, ipvs or nftables', apply: (c, _x, v) => (c.mode = s(v)) },
  { name: 'iptables-masquerade-bit', kind: 'int', help: 'Bit of the fwmark that marks packets for SNAT (0-31)', apply: (c, _x, v) => ((c.iptables.masqueradeBit = n(v)), (c.nftables.masqueradeBit = n(v))) },
  { name: 'masquerade-all', kind: 'bool', help: 'SNAT all traffic sent via service cluster IPs', apply: (c, _x, v) => ((c.iptables.masqueradeAll = b(v)), (c.nftables.masqueradeAll = b(v))) },
  { name: 'iptables-localhost-nodeports', kind: 'bool', help: 'Allow NodePorts on 127.0.0.1 (IPv4, iptables mode)', apply: (c, _x, v) => (c.iptables.localhostNodePorts = b(v)) },
  { name: 'iptables-sync-period', kind: 'duration', help: 'Maximum interval between resyncs', apply: (c, _x, v) => ((c.iptables.syncPeriod = s(v)), (c.nftables.syncPeriod = s(v))) },
  { name: 'iptables-min-sync-period', kind: 'duration', help: 'Minimum interval between resyncs', apply: (c, _x, v) => ((c.iptables.minSyncPeriod = s(v)), (c.nftables.minSyncPeriod = s(v))) },
  { name: 'ipvs-sync-period', kind: 'duration', help: 'IPVS: maximum interval between resyncs', apply: (c, _x, v) => (c.ipvs.syncPeriod = s(v)) },
  { name: 'ipvs-min-sync-period', kind: 'duration', help: 'IPVS: minimum interval between resyncs', apply: (c, _x, v) => (c.ipvs.minSyncPeriod = s(v)) },
  { name: 'ipvs-scheduler', kind: 'string', help: 'IPVS scheduler (rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, mh)', apply: (c, _x, v) => (c.ipvs.scheduler = s(v)) },
  { name: 'ipvs-exclude-cidrs', kind: 'list', help: 'CIDRs whose virtual servers IPVS cleanup leaves alone', apply: (c, _x, v) => (c.ipvs.excludeCIDRs = l(v)) },
  { name: 'ipvs-strict-arp', kind: 'bool', help: 'Set arp_ignore=1 and arp_announce=2', apply: (c, _x, v) => (c.ipvs.strictARP = b(v)) },
  { name: 'ipvs-tcp-timeout', kind: 'duration', help: 'IPVS idle TCP timeout', apply: (c, _x, v) => (c.ipvs.tcpTimeout = s(v)) },
  { name: 'ipvs-tcpfin-timeout', kind: 'duration', help: 'IPVS TCP FIN_WAIT timeout', apply: (c, _x, v) => (c.ipvs.tcpFinTimeout = s(v)) },
  { name: 'ipvs-udp-timeout', kind: 'duration', help: 'IPVS UDP timeout', apply: (c, _x, v) => (c.ipvs.udpTimeout = s(v)) },
  { name: 'detect-local-mode', kind: 'string', help: 'ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix', apply: (c, _x, v) => (c.detectLocalMode = s(v)) },
  { name: 'pod-bridge-interface', kind: 'string', help: 'Bridge of local pods (detect-local-mode BridgeInterface)', apply: (c, _x, v) => (c.detectLocal.bridgeInterface = s(v)) },
  { name: 'pod-interface-name-prefix', kind: 'string', help: 'Interface prefix of local pods (detect-local-mode InterfaceNamePrefix)', apply: (c, _x, v) => (c.detectLocal.interfaceNamePrefix = s(v)) },
  { name: 'cluster-cidr', kind: 'string', help: 'Pod CIDR(s) of the cluster, comma separated, one per family', apply: (c, _x, v) => (c.clusterCIDR = s(v)) },
  { name: 'nodeport-addresses', kind: 'list', help: 'CIDRs (or "primary") of the addresses that accept NodePorts', apply: (c, _x, v) => (c.nodePortAddresses = l(v)) },
  { name: 'oom-score-adj', kind: 'int', help: 'oom_score_adj of the process', apply: (c, _x, v) => (c.oomScoreAdj = n(v)) },
  { name: 'conntrack-max-per-core', kind: 'int', help: 'Connections tracked per CPU (0 keeps the kernel value)', apply: (c, _x, v) => (c.conntrack.maxPerCore = n(v)) },
  { name: 'conntrack-min', kind: 'int', help: 'Minimum nf_conntrack_max', apply: (c, _x, v) => (c.conntrack.min = n(v)) },
  { name: 'conntrack-tcp-timeout-established', kind: 'duration', help: 'Idle timeout of established TCP connections', apply: (c, _x, v) => (c.conntrack.tcpEstablishedTimeout = s(v)) },
  { name: 'conntrack-tcp-timeout-close-wait', kind: 'duration', help: 'Timeout of CLOSE_WAIT TCP connections', apply: (c, _x, v) => (c.conntrack.tcpCloseWaitTimeout = s(v)) },
  { name: 'conntrack-tcp-be-liberal', kind: 'bool', help: 'Set nf_conntrack_tcp_be_liberal=1 (and keep INVALID packets)', apply: (c, _x, v) => (c.conntrack.tcpBeLiberal = b(v)) },
  { name: 'conntrack-udp-timeout', kind: 'duration', help: 'UDP conntrack timeout (0 keeps the kernel value)', apply: (c, _x, v) => (c.conntrack.udpTimeout = s(v)) },
  { name: 'conntrack-udp-timeout-stream', kind: 'duration', help: 'UDP stream conntrack timeout (0 keeps the kernel value)', apply: (c, _x, v) => (c.conntrack.udpStreamTimeout = s(v)) },
  { name: 'config-sync-period', kind: 'duration', help: 'Informer resync period', apply: (c, _x, v) => (c.configSyncPeriod = s(v)) },
  { name: 'v', kind: 'int', help: 'Log verbosity (0-10)', apply: (c, _x, v) => (c.logging.verbosity = n(v)) },
  { name: 'logging-format', kind: 'string', help: 'text or json', apply: (c, x, v) => ((c.logging.format = s(v)), (x.logFormat = s(v) === 'json' ? 'json' : 'text')) },
  { name: 'vmodule', kind: 'string', help: 'Accepted for compatibility', apply: () => {} },
  { name: 'log-flush-frequency', kind: 'duration', help: 'Accepted for compatibility', apply: (c, _x, v) => (c.logging.flushFrequency = s(v)) },
  { name: 'healthz-port', kind: 'int', help: 'Deprecated: use --healthz-bind-address', deprecated: 'use --healthz-bind-address', apply: (c, _x, v) => (c.healthzBindAddress = `${hostOf(c.healthzBindAddress)}:${n(v)}`) },
  { name: 'metrics-port', kind: 'int', help: 'Deprecated: use --metrics-bind-address', deprecated: 'use --metrics-bind-address', apply: (c, _x, v) => (c.metricsBindAddress = `${hostOf(c.metricsBindAddress)}:${n(v)}`) },
  { name: 'proxy-port-range', kind: 'string', help: 'Deprecated and ignored', deprecated: 'it has no effect', apply: (c, _x, v) => (c.portRange = s(v)) },
  // Ours.
  { name: 'manifests', kind: 'string', help: 'Read Services/EndpointSlices/Nodes from YAML/JSON files in this directory instead of the API, following changes', apply: (_c, x, v) => (x.manifests = s(v)) },
  { name: 'once', kind: 'bool', help: 'Do one full sync, then exit (0, or non-zero with the reason)', apply: (_c, x, v) => (x.once = b(v)) },
  { name: 'dry-run', kind: 'bool', help: 'Print what would be applied and change nothing', apply: (_c, x, v) => (x.dryRun = b(v)) },
  { name: 'min-sync-period', kind: 'duration', help: 'Minimum interval between syncs, for the selected mode', apply: (c, _x, v) => ((c.iptables.minSyncPeriod = s(v)), (c.nftables.minSyncPeriod = s(v)), (c.ipvs.minSyncPeriod = s(v))) },
  { name: 'sync-period', kind: 'duration', help: 'Retry and resync interval, for the selected mode', apply: (c, _x, v) => ((c.iptables.syncPeriod = s(v)), (c.nftables.syncPeriod = s(v)), (c.ipvs.syncPeriod = s(v))) },
  { name: 'nftables-applier', kind: 'string', help: 'nftables mode: netlink (native batch) or nft (nft -j -f -); default netlink when the native module loads', apply: (_c, x, v) => (x.nftablesApplier = s(v) as ExtraOptions['nftablesApplier']) },
  { name: 'iptables-backend', kind: 'string', help: 'iptables implementation: default, nft or legacy', apply: (_c, x, v) => (x.iptablesBackend = s(v) as ExtraOptions['iptablesBackend']) },
  { name: 'api-watch-timeout', kind: 'duration', help: 'API watches silent this long are re-opened (default 90s); informer staleness is twice this', apply: (_c, x, v) => (x.apiWatchTimeout = s(v)) },
];

/** The first of our own flags in FLAGS; everything before it is one of kube-proxy's. */
const FIRST_OWN_FLAG = 'manifests';

/**
 * kube-proxy flags that upstream still honours next to --config: the ones that are not part of
 * KubeProxyConfiguration, --hostname-override (since v1.31) and the logging flags.
 */
const UPSTREAM_HONOURED_WITH_CONFIG = new Set(['config', 'write-config-to', 'cleanup', 'init-only', 'master', 'hostname-override', 'v', 'vmodule', 'logging-format', 'log-flush-frequency']);

/**
 * The kube-proxy flags given next to --config that upstream kube-proxy would ignore (its file
 * replaces them), while we apply them over the file. Used to warn about the difference.
 */
export function flagsUpstreamIgnoresWithConfig(flags: ParsedFlags): string[] {
  const upstream = new Set(FLAGS.slice(0, FLAGS.findIndex((f) => f.name === FIRST_OWN_FLAG)).map((f) => f.name));
  return [...flags.values.keys()].filter((name) => upstream.has(name) && !UPSTREAM_HONOURED_WITH_CONFIG.has(name));
}

function hostOf(hostPort: string): string {
  const i = hostPort.lastIndexOf(':');
  return i > 0 ? hostPort.slice(0, i) : hostPort;
}

const BY_NAME = new Map(FLAGS.map((f) => [f.name, f]));

export interface ParsedFlags {
  /** Flags given on the command line, by name, in order (later ones win). */
  readonly values: ReadonlyMap<string, FlagValue>;
  readonly help: boolean;
  readonly version: boolean;
  readonly warnings: readonly string[];
}

function convert(def: FlagDef, raw: string): FlagValue {
  switch (def.kind) {
    case 'string':
      return raw;
    case 'bool':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new UsageError(`invalid value "${raw}" for flag --${def.name}: expected true or false`);
    case 'int': {
      if (!/^-?\d+$/.test(raw)) throw new UsageError(`invalid value "${raw}" for flag --${def.name}: expected an integer`);
      return Number(raw);
    }
    case 'float': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`invalid value "${raw}" for flag --${def.name}: expected a number`);
      return v;
    }
    case 'duration':
      if (parseDuration(raw) === undefined) throw new UsageError(`invalid value "${raw}" for flag --${def.name}: expected a duration such as 30s or 1m0s`);
      return raw;
    case 'list':
      return raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
    case 'map': {
      const out: Record<string, boolean> = {};
      for (const pair of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
        const [k, v] = pair.split('=');
        if (!k || (v !== 'true' && v !== 'false')) throw new UsageError(`invalid value "${raw}" for flag --${def.name}: expected key=true|false pairs`);
        out[k] = v === 'true';
      }
      return out;
    }
  }
}

/** Parses `--name=value`, `--name value`, `-name`, `--bool`, `--bool=false`. Unknown flags throw. */
export function parseFlags(argv: readonly string[]): ParsedFlags {
  const values = new Map<string, FlagValue>();
  const warnings: string[] = [];
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-' || arg === '--') throw new UsageError(`unexpected argument "${arg}"`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'help' || name === 'h') {
      help = true;
      continue;
    }
    if (name === 'version') {
      version = true;
      continue;
    }
    const def = BY_NAME.get(name);
    if (!def) throw new UsageError(`unknown flag: --${name}`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (def.kind === 'bool') raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`flag needs an argument: --${name}`);
      raw = next;
      i++;
    }
    if (def.deprecated) warnings.push(`flag --${name} is deprecated: ${def.deprecated}`);
    values.set(name, convert(def, raw));
  }
  return { values, help, version, warnings };
}

/** Applies parsed flag values on top of a configuration (file values or defaults). */
export function applyFlags(flags: ParsedFlags, config: KubeProxyConfiguration, extra: ExtraOptions): void {
  for (const [name, value] of flags.values) BY_NAME.get(name)!.apply(config, extra, value);
}

export function usage(): string {
  const lines = ['Usage: kube-proxy-ts [flags]', '', 'Flags:'];
  for (const f of FLAGS) {
    const arg = f.kind === 'bool' ? '' : f.kind === 'duration' ? ' duration' : f.kind === 'list' ? ' strings' : f.kind === 'map' ? ' mapStringBool' : f.kind === 'string' ? ' string' : ' int';
    lines.push(`      --${f.name}${arg}`.padEnd(46) + f.help);
  }
  lines.push('  -h, --help'.padEnd(46) + 'Show this help', '      --version'.padEnd(46) + 'Print the version');
  return lines.join('\n') + '\n';
}

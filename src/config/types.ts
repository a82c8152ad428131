/**
 * KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) with upstream's field names and
 * defaults (pkg/proxy/apis/config/v1alpha1/defaults.go). Durations stay Go duration strings,
 * as in the file format, and are parsed where they are used.
 */

export const CONFIG_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
export const CONFIG_KIND = 'KubeProxyConfiguration';

export interface ClientConnectionConfiguration {
  kubeconfig: string;
  acceptContentTypes: string;
  contentType: string;
  qps: number;
  burst: number;
}

export interface KubeProxyIPTablesConfiguration {
  masqueradeBit: number;
  masqueradeAll: boolean;
  localhostNodePorts: boolean;
  syncPeriod: string;
  minSyncPeriod: string;
}

export interface KubeProxyIPVSConfiguration {
  syncPeriod: string;
  minSyncPeriod: string;
  scheduler: string;
  excludeCIDRs: string[] | null;
  strictARP: boolean;
  tcpTimeout: string;
  tcpFinTimeout: string;
  udpTimeout: string;
}

export interface KubeProxyNFTablesConfiguration {
  masqueradeBit: number;
  masqueradeAll: boolean;
  syncPeriod: string;
  minSyncPeriod: string;
}

export interface KubeProxyConntrackConfiguration {
  maxPerCore: number;
  min: number;
  tcpEstablishedTimeout: string;
  tcpCloseWaitTimeout: string;
  tcpBeLiberal: boolean;
  udpTimeout: string;
  udpStreamTimeout: string;
}

export interface DetectLocalConfiguration {
  bridgeInterface: string;
  interfaceNamePrefix: string;
}

export interface LoggingConfiguration {
  format: string;
  flushFrequency: string;
  verbosity: number;
  options: Record<string, unknown>;
  /** Per-file verbosity (`{filePattern, verbosity}` items); accepted, not applied. */
  vmodule?: unknown[];
}

export interface KubeProxyConfiguration {
  apiVersion: string;
  kind: string;
  featureGates: Record<string, boolean>;
  clientConnection: ClientConnectionConfiguration;
  logging: LoggingConfiguration;
  hostnameOverride: string;
  bindAddress: string;
  healthzBindAddress: string;
  metricsBindAddress: string;
  bindAddressHardFail: boolean;
  enableProfiling: boolean;
  showHiddenMetricsForVersion: string;
  mode: string;
  iptables: KubeProxyIPTablesConfiguration;
  ipvs: KubeProxyIPVSConfiguration;
  nftables: KubeProxyNFTablesConfiguration;
  winkernel: Record<string, unknown>;
  detectLocalMode: string;
  detectLocal: DetectLocalConfiguration;
  clusterCIDR: string;
  nodePortAddresses: string[] | null;
  oomScoreAdj: number;
  conntrack: KubeProxyConntrackConfiguration;
  configSyncPeriod: string;
  portRange: string;
  windowsRunAsService: boolean;
}

/** Upstream's defaults for every field. */
export function defaultConfiguration(): KubeProxyConfiguration {
  return {
    apiVersion: CONFIG_API_VERSION,
    kind: CONFIG_KIND,
    featureGates: {},
    clientConnection: {
      kubeconfig: '',
      acceptContentTypes: '',
      contentType: 'application/vnd.kubernetes.protobuf',
      qps: 5,
      burst: 10,
    },
    // component-base's recommended logging defaults, as `--write-config-to` shows them upstream.
    logging: { format: 'text', flushFrequency: '5s', verbosity: 0, options: { json: { infoBufferSize: '0' }, text: { infoBufferSize: '0' } } },
    hostnameOverride: '',
    bindAddress: '0.0.0.0',
    healthzBindAddress: '0.0.0.0:10256',
    metricsBindAddress: '127.0.0.1:10249',
    bindAddressHardFail: false,
    enableProfiling: false,
    showHiddenMetricsForVersion: '',
    mode: '',
    iptables: { masqueradeBit: 14, masqueradeAll: false, localhostNodePorts: true, syncPeriod: '30s', minSyncPeriod: '1s' },
    ipvs: {
      syncPeriod: '30s',
      minSyncPeriod: '0s',
      scheduler: '',
      excludeCIDRs: null,
      strictARP: false,
      tcpTimeout: '0s',
      tcpFinTimeout: '0s',
      udpTimeout: '0s',
    },
    nftables: { masqueradeBit: 14, masqueradeAll: false, syncPeriod: '30s', minSyncPeriod: '1s' },
    winkernel: { enableDSR: false, forwardHealthCheckVip: false, networkName: '', rootHnsEndpointName: '', sourceVip: '' },
    detectLocalMode: '',
    detectLocal: { bridgeInterface: '', interfaceNamePrefix: '' },
    clusterCIDR: '',
    nodePortAddresses: null,
    oomScoreAdj: -999,
    conntrack: {
      maxPerCore: 32768,
      min: 131072,
      tcpEstablishedTimeout: '24h0m0s',
      tcpCloseWaitTimeout: '1h0m0s',
      tcpBeLiberal: false,
      udpTimeout: '0s',
      udpStreamTimeout: '0s',
    },
    configSyncPeriod: '15m0s',
    portRange: '',
    windowsRunAsService: false,
  };
}

/** Options of ours, beyond KubeProxyConfiguration. */
export interface ExtraOptions {
  /** Standalone source: a directory of Kubernetes YAML/JSON files instead of the API. */
  manifests: string;
  /** One full sync, then exit. */
  once: boolean;
  /** Print what would be applied; change nothing. */
  dryRun: boolean;
  /** Remove everything any mode made, then exit. */
  cleanup: boolean;
  /** nftables mode: program through the native netlink batch or through `nft -j -f -`. */
  nftablesApplier: 'auto' | 'netlink' | 'nft';
  /** iptables implementation: the system default, or iptables-nft / iptables-legacy explicitly. */
  iptablesBackend: 'default' | 'nft' | 'legacy';
  /** Kubernetes API server URL (--master). */
  master: string;
  /** Config file (--config). */
  configFile: string;
  writeConfigTo: string;
  /** Log line format: JSON lines, text, or text when stderr is a terminal. */
  logFormat: 'json' | 'text' | 'auto';
  /**
   * Watch inactivity timeout of the API informers (Go duration; '' = 90s). Staleness and list
   * timeouts scale with it; tests shorten it to exercise stalled watches quickly.
   */
  apiWatchTimeout: string;
}

export function defaultExtraOptions(): ExtraOptions {
  return {
    manifests: '',
    once: false,
    dryRun: false,
    cleanup: false,
    nftablesApplier: 'auto',
    iptablesBackend: 'default',
    master: '',
    configFile: '',
    writeConfigTo: '',
    logFormat: 'auto',
    apiWatchTimeout: '',
  };
}

import { hostname, networkInterfaces } from 'node:os';
import { existsSync } from 'node:fs';
import { parseDuration } from './duration.js';
import type { KubeProxyConfiguration } from './types.js';
import { canonicalIP, ipFamilyOf, type IPFamily } from '../model/ip.js';
import { localDetectorFor, type DetectLocalMode, type LocalDetector } from '../model/local-detector.js';
import type { NodeInfo } from '../model/node.js';
import { resolveNodePortAddresses, type NodePortAddresses } from '../model/nodeport-addresses.js';
import type { ProxyMode } from '../sync/proxier.js';

/** What the running proxy derives from a validated KubeProxyConfiguration. */
export interface RuntimeSettings {
  readonly mode: ProxyMode;
  readonly nodeName: string;
  /** Families to program, primary first. */
  readonly families: readonly IPFamily[];
  readonly syncPeriodMs: number;
  readonly minSyncPeriodMs: number;
  readonly masqueradeBit: number;
  readonly masqueradeAll: boolean;
  readonly localhostNodePorts: boolean;
  readonly clusterCIDRs: readonly string[];
  readonly detectLocalMode: DetectLocalMode;
  readonly bridgeInterface: string;
  readonly interfaceNamePrefix: string;
  /** nodePortAddresses as configured; nftables mode turns an empty list into ['primary']. */
  readonly nodePortAddresses: readonly string[];
  /** --bind-address when it names a specific address: overrides the node's primary IP. */
  readonly bindAddress: string | undefined;
  readonly featureGates: Readonly<Record<string, boolean>>;
  readonly tcpBeLiberal: boolean;
  /** IPVS mode's own settings (the configuration's ipvs section). */
  readonly ipvs: IpvsSettings;
}

export interface IpvsSettings {
  /** The IPVS scheduler; upstream's default "rr" when the configuration leaves it empty. */
  readonly scheduler: string;
  /** Virtual servers inside these CIDRs are never deleted by the IPVS proxier. */
  readonly excludeCIDRs: readonly string[];
  readonly strictARP: boolean;
  /** IPVS connection timeouts in whole seconds; 0 leaves the kernel's value. */
  readonly tcpTimeoutSeconds: number;
  readonly tcpFinTimeoutSeconds: number;
  readonly udpTimeoutSeconds: number;
}

function ms(text: string): number {
  return parseDuration(text) ?? 0;
}

/** Upstream's node name: --hostname-override (trimmed, lower-cased) or the OS hostname. */
export function nodeNameFrom(config: KubeProxyConfiguration): string {
  const override = config.hostnameOverride.trim();
  return (override || hostname()).toLowerCase();
}

function familySupported(family: IPFamily): boolean {
  return family === 'IPv4' ? true : existsSync('/proc/sys/net/ipv6');
}

export function runtimeSettings(config: KubeProxyConfiguration): RuntimeSettings {
  const mode = (config.mode || 'iptables') as ProxyMode;
  const section = mode === 'ipvs' ? config.ipvs : mode === 'nftables' ? config.nftables : config.iptables;
  const bind = config.bindAddress === '0.0.0.0' || config.bindAddress === '::' ? undefined : canonicalIP(config.bindAddress);
  const primary: IPFamily = ipFamilyOf(config.bindAddress) === 'IPv6' ? 'IPv6' : 'IPv4';
  const secondary: IPFamily = primary === 'IPv4' ? 'IPv6' : 'IPv4';
  const families = familySupported(secondary) ? [primary, secondary] : [primary];
  return {
    mode,
    nodeName: nodeNameFrom(config),
    families,
    syncPeriodMs: ms(section.syncPeriod),
    minSyncPeriodMs: ms(section.minSyncPeriod),
    masqueradeBit: mode === 'nftables' ? config.nftables.masqueradeBit : config.iptables.masqueradeBit,
    masqueradeAll: mode === 'nftables' ? config.nftables.masqueradeAll : config.iptables.masqueradeAll,
    localhostNodePorts: config.iptables.localhostNodePorts,
    clusterCIDRs: config.clusterCIDR === '' ? [] : config.clusterCIDR.split(',').map((c) => c.trim()),
    detectLocalMode: (config.detectLocalMode || 'ClusterCIDR') as DetectLocalMode,
    bridgeInterface: config.detectLocal.bridgeInterface,
    interfaceNamePrefix: config.detectLocal.interfaceNamePrefix,
    nodePortAddresses: config.nodePortAddresses ?? [],
    bindAddress: bind,
    featureGates: config.featureGates,
    tcpBeLiberal: config.conntrack.tcpBeLiberal,
    ipvs: {
      scheduler: config.ipvs.scheduler || 'rr',
      excludeCIDRs: config.ipvs.excludeCIDRs ?? [],
      strictARP: config.ipvs.strictARP,
      tcpTimeoutSeconds: Math.floor(ms(config.ipvs.tcpTimeout) / 1000),
      tcpFinTimeoutSeconds: Math.floor(ms(config.ipvs.tcpFinTimeout) / 1000),
      udpTimeoutSeconds: Math.floor(ms(config.ipvs.udpTimeout) / 1000),
    },
  };
}

/** Upstream's mark string: Go's %#08x of 1<<bit. */
export function masqueradeMark(bit: number): string {
  return `0x${(2 ** bit).toString(16).padStart(8, '0')}`;
}

/** Addresses on this namespace's interfaces (the node's "local addresses"). */
export function localInterfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const ip = canonicalIP(a.address.split('%')[0]!);
      if (ip) out.push(ip);
    }
  }
  return out;
}

/** The node as one family's proxier sees it. */
export interface FamilyView {
  /** The node's primary IP of this family (bind address, else the Node's InternalIP/ExternalIP). */
  readonly nodeIP: string | undefined;
  readonly localDetector: LocalDetector;
  readonly nodePortAddresses: NodePortAddresses;
}

export function familyView(
  s: RuntimeSettings,
  node: NodeInfo,
  family: IPFamily,
  localAddresses: readonly string[],
  nodePortDefault: readonly string[] = [],
): FamilyView {
  const nodeIP = s.bindAddress && ipFamilyOf(s.bindAddress) === family ? s.bindAddress : node.addresses[family];
  const configured = s.nodePortAddresses.length > 0 ? s.nodePortAddresses : nodePortDefault;
  return {
    nodeIP,
    localDetector: localDetectorFor({
      mode: s.detectLocalMode,
      family,
      clusterCIDRs: s.clusterCIDRs,
      podCIDRs: node.podCIDRs,
      bridgeInterface: s.bridgeInterface,
      interfaceNamePrefix: s.interfaceNamePrefix,
    }),
    nodePortAddresses: resolveNodePortAddresses(
      configured,
      family,
      nodeIP,
      localAddresses.filter((ip) => ipFamilyOf(ip) === family),
    ),
  };
}

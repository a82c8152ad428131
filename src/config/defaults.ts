import { isIP } from 'node:net';
import { formatDuration, parseDuration } from './duration.js';
import type { KubeProxyConfiguration } from './types.js';

/**
 * Upstream's SetDefaults_KubeProxyConfiguration (pkg/proxy/apis/config/v1alpha1/defaults.go) as
 * it applies to a decoded file: a zero value means "the default", so kubeadm's ConfigMap, which
 * writes `syncPeriod: 0s` and `minSyncPeriod: 0s`, ends up with 30s and 1s exactly as upstream
 * would read it. Pointer fields upstream (masqueradeBit, conntrack.min, ...) keep an explicit 0.
 * Flags are applied after this and are taken literally, as upstream's flags are.
 */
export function applyFileDefaults(c: KubeProxyConfiguration): void {
  const zero = (d: string): boolean => parseDuration(d) === 0;
  if (c.bindAddress === '') c.bindAddress = '0.0.0.0';
  const ipv6 = c.bindAddress.includes(':');
  c.healthzBindAddress = c.healthzBindAddress === '' ? `${ipv6 ? '[::]' : '0.0.0.0'}:10256` : appendPortIfNeeded(c.healthzBindAddress, 10256);
  c.metricsBindAddress = c.metricsBindAddress === '' ? `${ipv6 ? '[::1]' : '127.0.0.1'}:10249` : appendPortIfNeeded(c.metricsBindAddress, 10249);
  if (zero(c.iptables.syncPeriod)) c.iptables.syncPeriod = '30s';
  if (zero(c.iptables.minSyncPeriod)) c.iptables.minSyncPeriod = '1s';
  if (zero(c.ipvs.syncPeriod)) c.ipvs.syncPeriod = '30s';
  if (zero(c.nftables.syncPeriod)) c.nftables.syncPeriod = '30s';
  if (zero(c.nftables.minSyncPeriod)) c.nftables.minSyncPeriod = '1s';
  if (zero(c.configSyncPeriod)) c.configSyncPeriod = '15m0s';
  if (c.clientConnection.contentType === '') c.clientConnection.contentType = 'application/vnd.kubernetes.protobuf';
  if (c.clientConnection.qps === 0) c.clientConnection.qps = 5;
  if (c.clientConnection.burst === 0) c.clientConnection.burst = 10;
  if (c.logging.format === '') c.logging.format = 'text';
  if (zero(c.logging.flushFrequency)) c.logging.flushFrequency = '5s';
  c.featureGates ??= {};
  normalizeDurations(c);
}

/** proxyutil.AppendPortIfNeeded: a bare IP gets the default port; anything else is left as it is. */
export function appendPortIfNeeded(address: string, port: number): string {
  const family = isIP(address);
  if (family === 4) return `${address}:${port}`;
  if (family === 6) return `[${address}]:${port}`;
  return address;
}

/** Durations as Go prints them ("30s", "1h0m0s"), as upstream's --write-config-to and /configz show. */
export function normalizeDurations(c: KubeProxyConfiguration): void {
  const canonical = (d: string): string => {
    const ms = parseDuration(d);
    return ms === undefined ? d : formatDuration(ms);
  };
  for (const section of [c.iptables, c.nftables] as const) {
    section.syncPeriod = canonical(section.syncPeriod);
    section.minSyncPeriod = canonical(section.minSyncPeriod);
  }
  for (const k of ['syncPeriod', 'minSyncPeriod', 'tcpTimeout', 'tcpFinTimeout', 'udpTimeout'] as const) c.ipvs[k] = canonical(c.ipvs[k]);
  for (const k of ['tcpEstablishedTimeout', 'tcpCloseWaitTimeout', 'udpTimeout', 'udpStreamTimeout'] as const) c.conntrack[k] = canonical(c.conntrack[k]);
  c.configSyncPeriod = canonical(c.configSyncPeriod);
  c.logging.flushFrequency = canonical(c.logging.flushFrequency);
}

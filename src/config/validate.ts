import { isIP } from 'node:net';
import { parseDuration } from './duration.js';
import type { ExtraOptions, KubeProxyConfiguration } from './types.js';
import { parseCIDR } from '../model/ip.js';

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq', 'mh'];
const DETECT_LOCAL_MODES = ['', 'ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'];

function checkHostPort(errors: FieldError[], field: string, value: string, allowEmpty: boolean): void {
  if (value === '' && allowEmpty) return;
  const m = value.match(/^(?:\[([^\]]+)\]|([^:]*|[^\]]*:[^\]]*)):(\d+)$/);
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || (host !== '' && isIP(host) === 0) || port > 65535) {
    errors.push({ field, message: `${JSON.stringify(value)} must be IP:port (e.g. 0.0.0.0:10256)` });
  }
}

function checkDuration(errors: FieldError[], field: string, value: string, opts: { positive?: boolean } = {}): number | undefined {
  const ms = parseDuration(value);
  if (ms === undefined) errors.push({ field, message: `${JSON.stringify(value)} is not a duration` });
  else if (opts.positive ? ms <= 0 : ms < 0) errors.push({ field, message: `must be ${opts.positive ? 'greater than 0' : 'greater than or equal to 0'}` });
  return ms;
}

function checkPeriods(errors: FieldError[], section: string, sync: string, min: string): void {
  const s = checkDuration(errors, `${section}.syncPeriod`, sync, { positive: true });
  const m = checkDuration(errors, `${section}.minSyncPeriod`, min);
  if (s !== undefined && m !== undefined && s > 0 && m >= 0 && s < m) {
    errors.push({ field: `${section}.syncPeriod`, message: `must be greater than or equal to ${section}.minSyncPeriod` });
  }
}

/** util/net.ParsePortRange: empty, a port, "low-high" or "base+size". */
function validPortRange(range: string): boolean {
  const r = range.trim();
  if (r === '') return true;
  const m = r.match(/^(\d+)(?:([-+])(\d+))?$/);
  if (!m) return false;
  const low = Number(m[1]);
  const other = m[3] === undefined ? 0 : Number(m[3]);
  const high = m[2] === '+' ? low + other - 1 : m[2] === '-' ? other : low;
  return low <= 65535 && high <= 65535 && high >= low;
}

/** Validates an effective configuration as upstream's validation does; returns every problem. */
export function validateConfiguration(c: KubeProxyConfiguration, x?: ExtraOptions): FieldError[] {
  const errors: FieldError[] = [];
  if (!['', 'iptables', 'ipvs', 'nftables'].includes(c.mode)) {
    errors.push({ field: 'mode', message: `${JSON.stringify(c.mode)} is not a supported proxy mode (iptables, ipvs, nftables)` });
  }
  for (const [field, bit] of [['iptables.masqueradeBit', c.iptables.masqueradeBit], ['nftables.masqueradeBit', c.nftables.masqueradeBit]] as const) {
    if (!Number.isInteger(bit) || bit < 0 || bit > 31) errors.push({ field, message: 'must be within the range [0, 31]' });
  }
  checkPeriods(errors, 'iptables', c.iptables.syncPeriod, c.iptables.minSyncPeriod);
  checkPeriods(errors, 'nftables', c.nftables.syncPeriod, c.nftables.minSyncPeriod);
  checkPeriods(errors, 'ipvs', c.ipvs.syncPeriod, c.ipvs.minSyncPeriod);
  for (const f of ['tcpTimeout', 'tcpFinTimeout', 'udpTimeout'] as const) checkDuration(errors, `ipvs.${f}`, c.ipvs[f]);
  if (c.ipvs.scheduler !== '' && !IPVS_SCHEDULERS.includes(c.ipvs.scheduler)) {
    errors.push({ field: 'ipvs.scheduler', message: `${JSON.stringify(c.ipvs.scheduler)} is not a valid IPVS scheduler (${IPVS_SCHEDULERS.join(', ')})` });
  }
  for (const [i, cidr] of (c.ipvs.excludeCIDRs ?? []).entries()) {
    if (!parseCIDR(cidr) || !cidr.includes('/')) errors.push({ field: `ipvs.excludeCIDRs[${i}]`, message: `${JSON.stringify(cidr)} is not a CIDR` });
  }
  if (isIP(c.bindAddress) === 0) errors.push({ field: 'bindAddress', message: `${JSON.stringify(c.bindAddress)} is not a valid IP address` });
  checkHostPort(errors, 'healthzBindAddress', c.healthzBindAddress, true);
  checkHostPort(errors, 'metricsBindAddress', c.metricsBindAddress, true);
  if (c.clusterCIDR !== '') {
    const families = new Set<string>();
    for (const part of c.clusterCIDR.split(',')) {
      const cidr = parseCIDR(part.trim());
      if (!cidr || !part.includes('/')) {
        errors.push({ field: 'clusterCIDR', message: `${JSON.stringify(part.trim())} is not a CIDR` });
        continue;
      }
      if (families.has(cidr.family)) errors.push({ field: 'clusterCIDR', message: 'may contain at most one CIDR per IP family' });
      families.add(cidr.family);
    }
  }
  if (!DETECT_LOCAL_MODES.includes(c.detectLocalMode)) {
    errors.push({ field: 'detectLocalMode', message: `${JSON.stringify(c.detectLocalMode)} is not one of ${DETECT_LOCAL_MODES.filter(Boolean).join(', ')}` });
  }
  if (c.detectLocalMode === 'BridgeInterface' && c.detectLocal.bridgeInterface === '') {
    errors.push({ field: 'detectLocal.bridgeInterface', message: 'must be set when detectLocalMode is BridgeInterface' });
  }
  if (c.detectLocalMode === 'InterfaceNamePrefix' && c.detectLocal.interfaceNamePrefix === '') {
    errors.push({ field: 'detectLocal.interfaceNamePrefix', message: 'must be set when detectLocalMode is InterfaceNamePrefix' });
  }
  const nodePortAddresses = c.nodePortAddresses ?? [];
  for (const [i, a] of nodePortAddresses.entries()) {
    if (a === 'primary' && nodePortAddresses.length > 1) {
      errors.push({ field: `nodePortAddresses[${i}]`, message: '"primary" must be the only entry' });
    } else if (a !== 'primary' && (!parseCIDR(a) || !a.includes('/'))) {
      errors.push({ field: `nodePortAddresses[${i}]`, message: `${JSON.stringify(a)} must be a CIDR or "primary"` });
    }
  }
  if (!validPortRange(c.portRange)) errors.push({ field: 'portRange', message: `${JSON.stringify(c.portRange)} must be a valid port range (e.g. 300-2000)` });
  if (c.showHiddenMetricsForVersion !== '' && !/^\d+\.\d+$/.test(c.showHiddenMetricsForVersion)) {
    errors.push({ field: 'showHiddenMetricsForVersion', message: `${JSON.stringify(c.showHiddenMetricsForVersion)} must be <major>.<minor>, e.g. 1.16` });
  }
  if (c.hostnameOverride !== '' && c.hostnameOverride.trim() === '') errors.push({ field: 'hostnameOverride', message: 'an empty (whitespace) hostname override is invalid' });
  for (const f of ['maxPerCore', 'min'] as const) {
    if (!Number.isInteger(c.conntrack[f]) || c.conntrack[f] < 0) errors.push({ field: `conntrack.${f}`, message: 'must be greater than or equal to 0' });
  }
  for (const f of ['tcpEstablishedTimeout', 'tcpCloseWaitTimeout', 'udpTimeout', 'udpStreamTimeout'] as const) {
    checkDuration(errors, `conntrack.${f}`, c.conntrack[f]);
  }
  checkDuration(errors, 'configSyncPeriod', c.configSyncPeriod, { positive: true });
  // As upstream, QPS is not range-checked: a negative value switches the client rate limit off.
  if (!Number.isFinite(c.clientConnection.qps)) errors.push({ field: 'clientConnection.qps', message: 'must be a number' });
  if (!Number.isInteger(c.clientConnection.burst) || c.clientConnection.burst < 0) {
    errors.push({ field: 'clientConnection.burst', message: 'must be greater than or equal to 0' });
  }
  if (!Number.isInteger(c.oomScoreAdj) || c.oomScoreAdj < -1000 || c.oomScoreAdj > 1000) {
    errors.push({ field: 'oomScoreAdj', message: 'must be within the range [-1000, 1000]' });
  }
  if (!Number.isInteger(c.logging.verbosity) || c.logging.verbosity < 0) errors.push({ field: 'logging.verbosity', message: 'must be a non-negative integer' });
  if (x) {
    if (!['auto', 'netlink', 'nft'].includes(x.nftablesApplier)) errors.push({ field: '--nftables-applier', message: 'must be netlink or nft' });
    if (!['default', 'nft', 'legacy'].includes(x.iptablesBackend)) errors.push({ field: '--iptables-backend', message: 'must be default, nft or legacy' });
    if (x.apiWatchTimeout !== '') checkDuration(errors, '--api-watch-timeout', x.apiWatchTimeout, { positive: true });
  }
  return errors;
}

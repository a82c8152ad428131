import { hashName } from '../../util/hash-name.js';
import type { Endpoint } from '../../model/endpoint.js';
import type { ServicePort } from '../../model/service-port.js';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_FIREWALL = 'KUBE-FIREWALL';
export const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';

/** Per-service-port chains: upstream's servicePortInfo chain names. */
export interface ServiceChains {
  readonly clusterPolicy: string; // KUBE-SVC-
  readonly localPolicy: string; // KUBE-SVL-
  readonly external: string; // KUBE-EXT-
  readonly firewall: string; // KUBE-FW-
}

const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-SEP-'];

/** Whether a chain name is one of the per-service or per-endpoint chains the proxy owns. */
export function isServiceChainName(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}

/** base32(sha256(spn + protocol)) truncated to 16: one hash shared by SVC/SVL/EXT/FW. */
export function servicePortChainHash(spn: string, protocol: string): string {
  return hashName(spn + protocol.toLowerCase(), 16);
}

export function serviceChainsFor(spn: string, protocol: string): ServiceChains {
  const h = servicePortChainHash(spn, protocol);
  return { clusterPolicy: `KUBE-SVC-${h}`, localPolicy: `KUBE-SVL-${h}`, external: `KUBE-EXT-${h}`, firewall: `KUBE-FW-${h}` };
}

/** `KUBE-SEP-` + hash of spn + protocol + `ip:port`; SVC and SVL share endpoint chains. */
export function endpointChainFor(spn: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hashName(spn + protocol.toLowerCase() + endpoint, 16)}`;
}

/**
 * Memoised chain names. Hashing is the single most repeated cost of a 100k-endpoint sync, and a
 * name depends only on its inputs, so a cache kept across syncs is safe.
 */
export class ChainNames {
  private readonly services = new Map<string, ServiceChains>();
  private readonly endpoints = new Map<string, string>();

  service(sp: ServicePort): ServiceChains {
    let chains = this.services.get(sp.key);
    if (!chains) this.services.set(sp.key, (chains = serviceChainsFor(sp.spn, sp.protocol)));
    return chains;
  }

  endpoint(sp: ServicePort, ep: Endpoint): string {
    const key = `${sp.key}|${ep.endpoint}`;
    let name = this.endpoints.get(key);
    if (!name) this.endpoints.set(key, (name = endpointChainFor(sp.spn, sp.protocol, ep.endpoint)));
    return name;
  }

  /** Drops names of objects that no longer exist, so the cache does not grow without bound. */
  retainOnly(liveServiceKeys: ReadonlySet<string>): void {
    for (const key of this.services.keys()) if (!liveServiceKeys.has(key)) this.services.delete(key);
    for (const key of this.endpoints.keys()) {
      if (!liveServiceKeys.has(key.slice(0, key.indexOf('|')))) this.endpoints.delete(key);
    }
  }
}

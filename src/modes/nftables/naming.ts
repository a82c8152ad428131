import { hashName } from '../../util/hash-name.js';
import type { Endpoint } from '../../model/endpoint.js';
import type { ServicePort } from '../../model/service-port.js';

/** knftables.NameLengthMax: the kernel's NFT_NAME_MAXLEN minus the terminating NUL. */
const NAME_LENGTH_MAX = 256;
/** Room left for the longest prefix ("endpoint-", "affinity-", "firewall-" ...) plus the hyphen. */
const CHAIN_NAME_PREFIX_LENGTH_MAX = 16;
const CHAIN_NAME_BASE_LENGTH_MAX = NAME_LENGTH_MAX - CHAIN_NAME_PREFIX_LENGTH_MAX;

export const SERVICE_CHAIN_PREFIX = 'service-';
export const LOCAL_CHAIN_PREFIX = 'local-';
export const EXTERNAL_CHAIN_PREFIX = 'external-';
export const FIREWALL_CHAIN_PREFIX = 'firewall-';
export const ENDPOINT_CHAIN_PREFIX = 'endpoint-';
export const AFFINITY_SET_PREFIX = 'affinity-';

/**
 * Upstream's hashAndTruncate: the first 8 base32 characters of sha256(name), a hyphen, then the
 * name itself, cut to 240 characters with "..." when longer. The hash keeps truncated names
 * unique and makes names that differ in one digit easy to tell apart.
 */
export function hashAndTruncate(name: string): string {
  const full = `${hashName(name, 8)}-${name}`;
  return full.length > CHAIN_NAME_BASE_LENGTH_MAX ? `${full.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3)}...` : full;
}

/** `HASH-ns/svc/proto/portName`, e.g. `ULMVA6XW-ns1/svc1/tcp/p80`. */
export function servicePortChainNameBase(namespace: string, name: string, protocol: string, portName: string): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol.toLowerCase()}/${portName}`);
}

/**
 * `HASH-ns/svc/proto/portName__ip/port`, e.g. `5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80`. Colons
 * are not allowed in nftables names, so IPv6 addresses are written with dots.
 */
export function endpointChainNameBase(namespace: string, name: string, protocol: string, portName: string, ip: string, port: number): string {
  const safeIP = ip.replaceAll(':', '.');
  return hashAndTruncate(`${namespace}/${name}/${protocol.toLowerCase()}/${portName}__${safeIP}/${port}`);
}

/**
 * Per-service and per-endpoint chains are the only names with a "/" in them (namespace, service
 * and port names cannot contain one), which is how stale ones are told apart from fixed chains.
 */
export function isServiceChainName(chain: string): boolean {
  return chain.includes('/');
}

export function isAffinitySetName(set: string): boolean {
  return set.startsWith(AFFINITY_SET_PREFIX);
}

/** The chains one service port may use (upstream's servicePortInfo names). */
export interface ServiceChainNames {
  readonly clusterPolicy: string;
  readonly localPolicy: string;
  readonly external: string;
  readonly firewall: string;
}

export interface EndpointNames {
  readonly chain: string;
  readonly affinitySet: string;
}

/**
 * Memoised names. A name depends only on its inputs, and hashing is the most repeated cost of a
 * large sync, so the cache is kept across syncs and trimmed to live services on full syncs.
 */
export class NftablesNames {
  private readonly services = new Map<string, ServiceChainNames>();
  private readonly endpoints = new Map<string, EndpointNames>();

  service(sp: ServicePort): ServiceChainNames {
    let names = this.services.get(sp.key);
    if (!names) {
      const base = servicePortChainNameBase(sp.namespace, sp.name, sp.protocol, sp.portName);
      names = {
        clusterPolicy: SERVICE_CHAIN_PREFIX + base,
        localPolicy: LOCAL_CHAIN_PREFIX + base,
        external: EXTERNAL_CHAIN_PREFIX + base,
        firewall: FIREWALL_CHAIN_PREFIX + base,
      };
      this.services.set(sp.key, names);
    }
    return names;
  }

  endpoint(sp: ServicePort, ep: Endpoint): EndpointNames {
    const key = `${sp.key}|${ep.endpoint}`;
    let names = this.endpoints.get(key);
    if (!names) {
      const base = endpointChainNameBase(sp.namespace, sp.name, sp.protocol, sp.portName, ep.ip, ep.port);
      names = { chain: ENDPOINT_CHAIN_PREFIX + base, affinitySet: AFFINITY_SET_PREFIX + base };
      this.endpoints.set(key, names);
    }
    return names;
  }

  /** Drops names of service ports that no longer exist, so the cache does not grow without bound. */
  retainOnly(liveServicePortKeys: ReadonlySet<string>): void {
    for (const key of this.services.keys()) if (!liveServicePortKeys.has(key)) this.services.delete(key);
    for (const key of this.endpoints.keys()) {
      if (!liveServicePortKeys.has(key.slice(0, key.indexOf('|')))) this.endpoints.delete(key);
    }
  }
}

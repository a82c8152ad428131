import { ANNOTATION_LAST_CHANGE_TRIGGER_TIME, LABEL_SERVICE_NAME, type EndpointSlice } from './k8s.js';
import { canonicalIP, ipFamilyOf, joinHostPort, type IPFamily } from './ip.js';
import { servicePortKey, type Protocol } from './service-port.js';

/** The API server's own limits; a slice beyond them is malformed input, not a big service. */
export const MAX_ENDPOINTS_PER_SLICE = 1000;
export const MAX_PORTS_PER_SLICE = 100;

/** One backend of one service port (upstream's BaseEndpointInfo). Immutable. */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
  /** `ip:port` (`[ip]:port` for IPv6): the sort key and the text in rule comments. */
  readonly endpoint: string;
  /** `conditions.ready` nil or true. */
  readonly ready: boolean;
  /** `conditions.serving` nil or true. */
  readonly serving: boolean;
  /** `conditions.terminating` explicitly true. */
  readonly terminating: boolean;
  readonly isLocal: boolean;
  readonly nodeName: string;
  readonly zone: string;
  /** `hints.forZones` names, or null when the endpoint carries no zone hints. */
  readonly zoneHints: readonly string[] | null;
  /** `hints.forNodes` names, or null when the endpoint carries no node hints. */
  readonly nodeHints: readonly string[] | null;
}

interface SlicePortEndpoints {
  readonly key: string;
  readonly endpoints: readonly Endpoint[];
}

/** A validated EndpointSlice: its service and, per service port key, its endpoints. */
export interface ParsedSlice {
  readonly serviceName: string;
  readonly family: IPFamily;
  readonly ports: readonly SlicePortEndpoints[];
  /** `endpoints.kubernetes.io/last-change-trigger-time`, ms since the epoch, when present. */
  readonly triggerTimeMs: number | undefined;
}

export type SliceParseResult =
  | { readonly kind: 'slice'; readonly slice: ParsedSlice }
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'invalid'; readonly reason: string };

function parseTriggerTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

function names(list: Array<{ name?: string }> | undefined): readonly string[] | null {
  if (!Array.isArray(list) || list.length === 0) return null;
  return list.map((h) => String(h?.name ?? '')).filter((n) => n !== '');
}

/**
 * Validates one EndpointSlice and expands it into endpoints per service port, as upstream's
 * EndpointSliceCache does: only `addresses[0]` counts, ports match service ports by name and
 * protocol, conditions default to ready/serving, and `isLocal` compares nodeName with ours.
 */
export function parseEndpointSlice(slice: EndpointSlice, nodeName: string): SliceParseResult {
  const namespace = slice.metadata?.namespace ?? 'default';
  const sliceName = slice.metadata?.name;
  if (!sliceName) return { kind: 'invalid', reason: 'metadata.name is missing' };
  const svcName = slice.metadata?.labels?.[LABEL_SERVICE_NAME];
  if (!svcName) return { kind: 'ignored', reason: `no ${LABEL_SERVICE_NAME} label` };
  const addressType = slice.addressType;
  if (addressType === 'FQDN') return { kind: 'ignored', reason: 'FQDN slice' };
  if (addressType !== 'IPv4' && addressType !== 'IPv6') {
    return { kind: 'invalid', reason: `addressType ${JSON.stringify(addressType)} is not IPv4, IPv6 or FQDN` };
  }
  const family: IPFamily = addressType;
  const endpointsIn = slice.endpoints ?? [];
  const portsIn = slice.ports ?? [];
  if (!Array.isArray(endpointsIn) || endpointsIn.length > MAX_ENDPOINTS_PER_SLICE) {
    return { kind: 'invalid', reason: `endpoints has ${Array.isArray(endpointsIn) ? endpointsIn.length : 'no list of'} entries (limit ${MAX_ENDPOINTS_PER_SLICE})` };
  }
  if (!Array.isArray(portsIn) || portsIn.length > MAX_PORTS_PER_SLICE) {
    return { kind: 'invalid', reason: `ports has ${Array.isArray(portsIn) ? portsIn.length : 'no list of'} entries (limit ${MAX_PORTS_PER_SLICE})` };
  }

  interface Base { ip: string; conditions: Pick<Endpoint, 'ready' | 'serving' | 'terminating'>; nodeName: string; zone: string; zoneHints: readonly string[] | null; nodeHints: readonly string[] | null }
  const bases: Base[] = [];
  for (const [i, ep] of endpointsIn.entries()) {
    const first = ep?.addresses?.[0];
    if (first === undefined) continue;
    const ip = typeof first === 'string' ? canonicalIP(first) : undefined;
    if (!ip || ipFamilyOf(ip) !== family) {
      return { kind: 'invalid', reason: `endpoints[${i}] address ${JSON.stringify(first)} is not an ${family} address` };
    }
    const c = ep.conditions ?? {};
    bases.push({
      ip,
      conditions: {
        ready: c.ready === undefined || c.ready === null || c.ready === true,
        serving: c.serving === undefined || c.serving === null || c.serving === true,
        terminating: c.terminating === true,
      },
      nodeName: typeof ep.nodeName === 'string' ? ep.nodeName : '',
      zone: typeof ep.zone === 'string' ? ep.zone : '',
      zoneHints: names(ep.hints?.forZones),
      nodeHints: names(ep.hints?.forNodes),
    });
  }

  const ports: SlicePortEndpoints[] = [];
  for (const [i, p] of portsIn.entries()) {
    const protocol = (p?.protocol ?? 'TCP') as Protocol;
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
      return { kind: 'invalid', reason: `ports[${i}] has protocol ${JSON.stringify(p?.protocol)}` };
    }
    if (p.port === undefined || p.port === null) continue;
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      return { kind: 'invalid', reason: `ports[${i}] has port ${JSON.stringify(p.port)}` };
    }
    const port = p.port;
    const endpoints = bases.map((b): Endpoint => ({
      ip: b.ip,
      port,
      endpoint: joinHostPort(b.ip, port),
      ...b.conditions,
      isLocal: b.nodeName !== '' && b.nodeName === nodeName,
      nodeName: b.nodeName,
      zone: b.zone,
      zoneHints: b.zoneHints,
      nodeHints: b.nodeHints,
    }));
    ports.push({ key: servicePortKey(namespace, svcName, p.name ?? '', protocol), endpoints });
  }
  return {
    kind: 'slice',
    slice: {
      serviceName: `${namespace}/${svcName}`,
      family,
      ports,
      triggerTimeMs: parseTriggerTime(slice.metadata?.annotations?.[ANNOTATION_LAST_CHANGE_TRIGGER_TIME]),
    },
  };
}

/**
 * Merges the slices of one service into endpoints per service port key for one family. When
 * several slices hold the same ip:port the non-terminating copy wins (a pod moving between
 * slices must not look terminating); lists are sorted by `ip:port` because rule order follows.
 */
export function mergeSlices(slices: Iterable<ParsedSlice>, family: IPFamily): Map<string, Endpoint[]> {
  const byKey = new Map<string, Map<string, Endpoint>>();
  for (const slice of slices) {
    if (slice.family !== family) continue;
    for (const { key, endpoints } of slice.ports) {
      let merged = byKey.get(key);
      if (!merged) byKey.set(key, (merged = new Map()));
      for (const ep of endpoints) {
        const existing = merged.get(ep.endpoint);
        if (!existing || (existing.terminating && !ep.terminating)) merged.set(ep.endpoint, ep);
      }
    }
  }
  const result = new Map<string, Endpoint[]>();
  for (const [key, merged] of byKey) {
    if (merged.size === 0) continue;
    result.set(key, [...merged.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0)));
  }
  return result;
}

import { isDeepStrictEqual } from 'node:util';
import {
  allocateClusterIp,
  allocateNodePort,
  canonicalIp,
  DEFAULT_SERVICE_CIDRS,
  familyOf,
  type IpFamily,
  type ServiceCidrs,
} from './service-allocations.js';
import type { StatusCause } from './status.js';
import type { ResourceStrategy } from './strategy.js';
import type { KubeObject } from './types.js';

/**
 * What the real API server fills in on a Service: type, session affinity, port protocol and
 * targetPort, ClusterIP(s) and IP families, traffic policies, NodePorts and the health-check
 * NodePort. kube-proxy reads all of these, so tests see the same objects a cluster would give.
 */

interface ServicePort {
  name?: string;
  protocol?: string;
  port?: number;
  targetPort?: number | string;
  nodePort?: number;
}

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: IpFamily[];
  ipFamilyPolicy?: string;
  ports?: ServicePort[];
  sessionAffinity?: string;
  externalTrafficPolicy?: string;
  internalTrafficPolicy?: string;
  healthCheckNodePort?: number;
  allocateLoadBalancerNodePorts?: boolean;
  externalName?: string;
  [field: string]: unknown;
}

const SERVICE_TYPES = new Set(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']);
const PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP']);

function specOf(object: KubeObject): ServiceSpec {
  if (object.spec === undefined || object.spec === null || typeof object.spec !== 'object') object.spec = {};
  return object.spec as ServiceSpec;
}

function usesNodePorts(spec: ServiceSpec): boolean {
  return spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
}

function inUseAddresses(existing: readonly KubeObject[]): Set<string> {
  const ips = new Set<string>();
  for (const svc of existing) {
    const spec = specOf(structuredClone(svc));
    for (const ip of spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])) if (ip !== 'None') ips.add(canonicalIp(ip));
  }
  return ips;
}

function inUseNodePorts(existing: readonly KubeObject[]): Set<number> {
  const ports = new Set<number>();
  for (const svc of existing) {
    const spec = specOf(structuredClone(svc));
    for (const p of spec.ports ?? []) if (p.nodePort) ports.add(p.nodePort);
    if (spec.healthCheckNodePort) ports.add(spec.healthCheckNodePort);
  }
  return ports;
}

function defaultPorts(spec: ServiceSpec): void {
  for (const port of spec.ports ?? []) {
    port.protocol ??= 'TCP';
    if (port.targetPort === undefined || port.targetPort === 0 || port.targetPort === '') port.targetPort = port.port;
  }
}

function wantedFamilies(spec: ServiceSpec): IpFamily[] {
  const fromIps = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []))
    .map((ip) => familyOf(ip))
    .filter((f): f is IpFamily => f !== undefined);
  const families: IpFamily[] = [...(spec.ipFamilies ?? (fromIps.length > 0 ? fromIps : ['IPv4']))];
  const dual = spec.ipFamilyPolicy === 'PreferDualStack' || spec.ipFamilyPolicy === 'RequireDualStack';
  if (dual && families.length === 1) families.push(families[0] === 'IPv4' ? 'IPv6' : 'IPv4');
  return families;
}

function allocateClusterIps(spec: ServiceSpec, cidrs: ServiceCidrs, existing: readonly KubeObject[]): void {
  if (spec.type === 'ExternalName') return;
  if (spec.clusterIP === 'None') {
    spec.clusterIPs = ['None'];
    spec.ipFamilies ??= wantedFamilies(spec);
    spec.ipFamilyPolicy ??= 'SingleStack';
    return;
  }
  const families = wantedFamilies(spec);
  const requested = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
  const used = inUseAddresses(existing);
  const ips = families.map((family, i) => {
    const asked = requested[i];
    if (asked) return asked;
    const ip = allocateClusterIp(cidrs[family], family, used);
    if (ip) used.add(ip);
    return ip ?? '';
  });
  spec.clusterIPs = ips;
  spec.clusterIP = ips[0] ?? '';
  spec.ipFamilies = families;
  spec.ipFamilyPolicy ??= families.length > 1 ? 'PreferDualStack' : 'SingleStack';
}

function allocateNodePorts(spec: ServiceSpec, existing: readonly KubeObject[], previous?: ServiceSpec): void {
  const used = inUseNodePorts(existing);
  if (usesNodePorts(spec)) {
    for (const port of spec.ports ?? []) {
      if (port.nodePort) continue;
      // The real server keeps a port's NodePort across updates that omit it.
      const kept = previous?.ports?.find((p) => p.port === port.port && (p.protocol ?? 'TCP') === port.protocol)?.nodePort;
      const nodePort = kept ?? allocateNodePort(used);
      if (nodePort !== undefined) {
        port.nodePort = nodePort;
        used.add(nodePort);
      }
    }
  }
  // Only LoadBalancer Services with externalTrafficPolicy Local get a health-check NodePort.
  const needsHealthCheck = spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
  if (needsHealthCheck && !spec.healthCheckNodePort) {
    spec.healthCheckNodePort = previous?.healthCheckNodePort ?? allocateNodePort(used);
  }
}

function defaultPolicies(spec: ServiceSpec): void {
  spec.sessionAffinity ??= 'None';
  if (spec.type === 'ExternalName') return;
  spec.internalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
}

function validateService(object: KubeObject, previous: KubeObject | undefined): StatusCause[] {
  const spec = specOf(object);
  const causes: StatusCause[] = [];
  if (!SERVICE_TYPES.has(spec.type ?? '')) causes.push({ field: 'spec.type', reason: 'FieldValueNotSupported', message: `Unsupported value: "${String(spec.type)}"` });
  const ports = spec.ports ?? [];
  if (ports.length === 0 && spec.type !== 'ExternalName' && spec.clusterIP !== 'None') causes.push({ field: 'spec.ports', reason: 'FieldValueRequired', message: 'Required value' });
  ports.forEach((port, i) => {
    if (!Number.isInteger(port.port) || (port.port ?? 0) < 1 || (port.port ?? 0) > 65535) causes.push({ field: `spec.ports[${i}].port`, message: `Invalid value: ${String(port.port)}: must be between 1 and 65535, inclusive` });
    if (!PROTOCOLS.has(port.protocol ?? '')) causes.push({ field: `spec.ports[${i}].protocol`, reason: 'FieldValueNotSupported', message: `Unsupported value: "${String(port.protocol)}"` });
    if (ports.length > 1 && !port.name) causes.push({ field: `spec.ports[${i}].name`, reason: 'FieldValueRequired', message: 'Required value' });
  });
  for (const ip of spec.clusterIPs ?? []) {
    if (ip !== 'None' && ip !== '' && familyOf(ip) === undefined) causes.push({ field: 'spec.clusterIPs', message: `Invalid value: "${ip}": must be a valid IP address` });
  }
  const before = previous ? specOf(structuredClone(previous)) : undefined;
  if (before && before.clusterIP && spec.clusterIP !== before.clusterIP && before.type !== 'ExternalName' && spec.type !== 'ExternalName') {
    causes.push({ field: 'spec.clusterIPs[0]', reason: 'FieldValueInvalid', message: `Invalid value: "${String(spec.clusterIP)}": may not change once set` });
  }
  return causes;
}

export function serviceStrategy(cidrs: ServiceCidrs = DEFAULT_SERVICE_CIDRS): ResourceStrategy {
  return {
    prepareForCreate(object, existing) {
      const spec = specOf(object);
      spec.type ??= 'ClusterIP';
      defaultPorts(spec);
      defaultPolicies(spec);
      allocateClusterIps(spec, cidrs, existing);
      allocateNodePorts(spec, existing);
    },
    prepareForUpdate(next, previous, existing) {
      const spec = specOf(next);
      const before = specOf(structuredClone(previous));
      spec.type ??= 'ClusterIP';
      // An update that leaves the ClusterIP out keeps the allocated one, as the real server does.
      if (!spec.clusterIP && spec.type !== 'ExternalName' && before.type !== 'ExternalName') {
        spec.clusterIP = before.clusterIP;
        spec.clusterIPs ??= before.clusterIPs;
        spec.ipFamilies ??= before.ipFamilies;
        spec.ipFamilyPolicy ??= before.ipFamilyPolicy;
      }
      // Old clients change only clusterIP; like the real server, carry that into clusterIPs so validation sees it.
      if (spec.clusterIP && spec.clusterIPs && spec.clusterIPs[0] !== spec.clusterIP && isDeepStrictEqual(spec.clusterIPs, before.clusterIPs)) {
        spec.clusterIPs = [spec.clusterIP, ...spec.clusterIPs.slice(1)];
      }
      defaultPorts(spec);
      defaultPolicies(spec);
      const others = existing.filter((o) => o.metadata.uid !== previous.metadata.uid);
      allocateClusterIps(spec, cidrs, others);
      allocateNodePorts(spec, others, before);
    },
    validate: validateService,
  };
}

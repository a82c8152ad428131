import {
  addressAt,
  cidrContains,
  familyOf,
  formatCidr,
  parseCidr,
  subnetAt,
  type IpFamily,
  type PerFamily,
} from './addresses.js';

/** An external client namespace on the LAN; every client gets two source addresses per family by default. */
export interface LabClientOptions {
  name: string;
  ipv4?: string[];
  ipv6?: string[];
}

export interface LabTimeouts {
  /** One `ip`/`sysctl`/`exec` command. */
  commandMs: number;
  /** A namespace agent (a Node process) from spawn to its ready line. */
  agentStartMs: number;
  /** One probe request before it counts as a timeout (the DROP signature). */
  requestMs: number;
  /** `waitFor…` helpers: how long to keep polling. */
  readyMs: number;
  /** A spawned process between SIGTERM and SIGKILL. */
  stopMs: number;
}

export interface LabOptions {
  /** Node namespaces: a count (node1..nodeN) or names. Default 1 (node1). */
  nodes?: number | string[];
  /** Client namespaces outside the nodes. Default one, named "client". */
  clients?: Array<string | LabClientOptions>;
  /** Default both: every node, client and pod gets an address per family. */
  families?: IpFamily[];
  lanCidrs?: PerFamily<string>;
  clusterCidrs?: PerFamily<string>;
  /** Size of each node's slice of the cluster CIDR. Default /24 and /64. */
  nodePodCidrPrefix?: PerFamily<number>;
  serviceCidrs?: PerFamily<string>;
  /** Where tests take Service externalIPs from; clients route them via the ingress node. */
  externalIpCidrs?: PerFamily<string>;
  /** Where tests take LoadBalancer ingress IPs from; clients route them via the ingress node. */
  loadBalancerCidrs?: PerFamily<string>;
  /** The node clients send service, external and LB traffic to. Default the first node. */
  ingressNode?: string;
  /** Clients route pod CIDRs to their nodes (flat, routable pod network). Default true. */
  clientPodRoutes?: boolean;
  /** Multiplies every default timeout; for emulated VMs. Default $KPT_LAB_TIME_SCALE or 1. */
  timeScale?: number;
  timeouts?: Partial<LabTimeouts>;
}

export interface NodeTopology {
  readonly name: string;
  /** 1-based; picks the node's LAN address and its slice of the cluster CIDR. */
  readonly index: number;
  readonly ips: PerFamily<string>;
  readonly podCidrs: PerFamily<string>;
}

export interface ClientTopology {
  readonly name: string;
  /** The first address of each family is the default source; the others are for sourceAddress. */
  readonly ips: PerFamily<string[]>;
}

export interface LanTopology {
  readonly cidr: string;
  readonly prefix: number;
  /** Lives on the LAN bridge; nodes use it as their default gateway. It does not forward. */
  readonly gateway: string;
}

export interface LabTopology {
  readonly families: readonly IpFamily[];
  readonly lan: PerFamily<LanTopology>;
  readonly clusterCidrs: PerFamily<string>;
  readonly serviceCidrs: PerFamily<string>;
  readonly externalIpCidrs: PerFamily<string>;
  readonly loadBalancerCidrs: PerFamily<string>;
  readonly nodes: readonly NodeTopology[];
  readonly clients: readonly ClientTopology[];
  readonly ingressNode: string;
  readonly clientPodRoutes: boolean;
}

export const DEFAULTS = {
  families: ['IPv4', 'IPv6'] as IpFamily[],
  lanCidrs: { IPv4: '192.168.50.0/24', IPv6: 'fd00:50::/64' },
  clusterCidrs: { IPv4: '10.244.0.0/16', IPv6: 'fd00:10:244::/56' },
  nodePodCidrPrefix: { IPv4: 24, IPv6: 64 },
  serviceCidrs: { IPv4: '10.96.0.0/16', IPv6: 'fd00:10:96::/112' },
  externalIpCidrs: { IPv4: '198.51.100.0/24', IPv6: 'fd00:198:51:100::/64' },
  loadBalancerCidrs: { IPv4: '203.0.113.0/24', IPv6: 'fd00:203:0:113::/64' },
  timeouts: { commandMs: 30_000, agentStartMs: 30_000, requestMs: 2_000, readyMs: 30_000, stopMs: 10_000 },
} as const;

/** LAN host numbers: .1 gateway, .11, .12… nodes, .100/.101, .102/.103… clients. */
const GATEWAY_HOST = 1;
const NODE_HOST_BASE = 10;
const CLIENT_HOST_BASE = 100;

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Names the lab uses for itself. */
export const RESERVED_NAMES = new Set(['lan']);

export function validateName(kind: string, name: string): void {
  if (!NAME.test(name)) throw new Error(`${kind} name ${JSON.stringify(name)} must be a DNS label (a-z, 0-9, '-')`);
  if (RESERVED_NAMES.has(name)) throw new Error(`${kind} name ${JSON.stringify(name)} is reserved by the lab`);
}

/**
 * The same host number reads the same in both families: host 11 is 192.168.50.11 and fd00:50::11,
 * pod 5 on node1 is 10.244.1.5 and fd00:10:244:1::5. IPv6 therefore reads the decimal digits as hex.
 */
export function hostAddress(cidr: string, host: number): string {
  const c = parseCidr(cidr);
  return addressAt(c, c.family === 'IPv4' ? host : parseInt(String(host), 16));
}

export function timeScaleFromEnv(): number {
  const v = Number(process.env['KPT_LAB_TIME_SCALE'] ?? '1');
  return Number.isFinite(v) && v > 0 ? v : 1;
}

export function resolveTimeouts(options: LabOptions): LabTimeouts {
  const scale = options.timeScale ?? timeScaleFromEnv();
  const scaled = Object.fromEntries(
    Object.entries(DEFAULTS.timeouts).map(([k, v]) => [k, Math.round(v * scale)]),
  ) as unknown as LabTimeouts;
  return { ...scaled, ...options.timeouts };
}

function pick<T>(families: readonly IpFamily[], given: PerFamily<T> | undefined, fallback: PerFamily<T>, what: string): PerFamily<T> {
  const out: PerFamily<T> = {};
  for (const f of families) {
    const v = given?.[f] ?? fallback[f];
    if (v === undefined) throw new Error(`lab: no ${f} ${what} given`);
    out[f] = v;
  }
  return out;
}

function checkCidrs(cidrs: PerFamily<string>, what: string): void {
  for (const [family, text] of Object.entries(cidrs)) {
    if (parseCidr(text).family !== family) throw new Error(`lab: ${what} ${text} is not ${family}`);
  }
}

/** Options (all optional) -> every address of the lab, computed up front and checked. Pure. */
export function resolveTopology(options: LabOptions = {}): LabTopology {
  const families = [...new Set(options.families ?? DEFAULTS.families)];
  if (families.length === 0) throw new Error('lab: at least one IP family is needed');

  const lanCidrs = pick(families, options.lanCidrs, DEFAULTS.lanCidrs, 'LAN CIDR');
  const clusterCidrs = pick(families, options.clusterCidrs, DEFAULTS.clusterCidrs, 'cluster CIDR');
  const nodePrefix = pick(families, options.nodePodCidrPrefix, DEFAULTS.nodePodCidrPrefix, 'node pod CIDR prefix');
  const serviceCidrs = pick(families, options.serviceCidrs, DEFAULTS.serviceCidrs, 'service CIDR');
  const externalIpCidrs = pick(families, options.externalIpCidrs, DEFAULTS.externalIpCidrs, 'external IP CIDR');
  const loadBalancerCidrs = pick(families, options.loadBalancerCidrs, DEFAULTS.loadBalancerCidrs, 'LoadBalancer CIDR');
  for (const [what, c] of Object.entries({ lanCidrs, clusterCidrs, serviceCidrs, externalIpCidrs, loadBalancerCidrs })) {
    checkCidrs(c, what);
  }

  const nodeNames =
    typeof options.nodes === 'number' || options.nodes === undefined
      ? Array.from({ length: options.nodes ?? 1 }, (_, i) => `node${i + 1}`)
      : options.nodes;
  if (nodeNames.length === 0) throw new Error('lab: at least one node is needed');

  const lan: PerFamily<LanTopology> = {};
  for (const f of families) {
    const cidr = lanCidrs[f]!;
    lan[f] = { cidr: formatCidr(parseCidr(cidr)), prefix: parseCidr(cidr).prefix, gateway: hostAddress(cidr, GATEWAY_HOST) };
  }

  const nodes: NodeTopology[] = nodeNames.map((name, i) => {
    validateName('node', name);
    const index = i + 1;
    const ips: PerFamily<string> = {};
    const podCidrs: PerFamily<string> = {};
    for (const f of families) {
      ips[f] = hostAddress(lanCidrs[f]!, NODE_HOST_BASE + index);
      podCidrs[f] = formatCidr(subnetAt(clusterCidrs[f]!, nodePrefix[f]!, index));
    }
    return { name, index, ips, podCidrs };
  });

  const clientOptions = (options.clients ?? ['client']).map((c) => (typeof c === 'string' ? { name: c } : c));
  const clients: ClientTopology[] = clientOptions.map((c, i) => {
    validateName('client', c.name);
    const ips: PerFamily<string[]> = {};
    for (const f of families) {
      const given = f === 'IPv4' ? c.ipv4 : c.ipv6;
      const host = CLIENT_HOST_BASE + 2 * i;
      const list = given ?? [hostAddress(lanCidrs[f]!, host), hostAddress(lanCidrs[f]!, host + 1)];
      if (list.length === 0) throw new Error(`lab: client ${c.name} needs at least one ${f} address`);
      for (const ip of list) {
        if (familyOf(ip) !== f || !cidrContains(lanCidrs[f]!, ip)) {
          throw new Error(`lab: client ${c.name} address ${ip} is not inside the ${f} LAN ${lanCidrs[f]}`);
        }
      }
      ips[f] = list;
    }
    return { name: c.name, ips };
  });

  const names = [...nodes.map((n) => n.name), ...clients.map((c) => c.name)];
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new Error(`lab: the name ${JSON.stringify(duplicate)} is used twice`);

  const ingressNode = options.ingressNode ?? nodes[0]!.name;
  if (!nodes.some((n) => n.name === ingressNode)) throw new Error(`lab: ingress node ${ingressNode} is not one of the nodes`);

  return {
    families,
    lan,
    clusterCidrs,
    serviceCidrs,
    externalIpCidrs,
    loadBalancerCidrs,
    nodes,
    clients,
    ingressNode,
    clientPodRoutes: options.clientPodRoutes ?? true,
  };
}

/**
 * What each namespace of the lab is made of, as `ip -batch` lines and sysctl settings. Pure, so the
 * topology can be read and tested without root; `lab.ts` runs the lines inside the right namespace.
 *
 * Pods are routed point to point (Calico style) instead of hanging off a bridge: the pod owns its
 * address as a /32 (/128) and reaches everything through a link-local gateway whose MAC is pinned,
 * the node routes each pod address to the pod's veth. Every pod packet, including pod -> service ->
 * same pod (hairpin), is therefore routed by the node and crosses its netfilter hooks, with no
 * br_netfilter involved.
 */
import type { IpFamily, PerFamily } from './addresses.js';
import type { ClientTopology, LabTopology, NodeTopology } from './topology.js';

/** Every pod veth on the node side carries this MAC and these gateway addresses (as Calico does). */
export const POD_GATEWAY_MAC = 'ee:ee:ee:ee:ee:ee';
export const POD_GATEWAY: Record<IpFamily, string> = { IPv4: '169.254.1.1', IPv6: 'fe80::1' };
export const LAN_BRIDGE = 'lan0';
/** The interface every node, client and pod namespace uses to reach the outside. */
export const UPLINK = 'eth0';

const HOST_PREFIX: Record<IpFamily, number> = { IPv4: 32, IPv6: 128 };
const DEFAULT_ROUTE: Record<IpFamily, string> = { IPv4: '0.0.0.0/0', IPv6: '::/0' };

export interface Sysctl {
  key: string;
  value: string;
}

/** The LAN port (in the lan namespace) that leads to a node or client. Short: IFNAMSIZ is 16. */
export function lanPortName(kind: 'node' | 'client', index: number): string {
  return `${kind === 'node' ? 'n' : 'c'}${index}`;
}

/** The node-side veth of a pod, named by a lab-wide pod number so a re-added pod never collides. */
export function podVethName(podNumber: number): string {
  return `vpod${podNumber}`;
}

function ipOnly(lines: (string | false | undefined)[]): string[] {
  return lines.filter((l): l is string => typeof l === 'string');
}

/** The LAN: a bridge (with a non-forwarding gateway address) and one veth per node and client. */
export function lanBatch(topology: LabTopology, netnsOf: (name: string) => string): string[] {
  const lines = ['link set lo up', `link add ${LAN_BRIDGE} type bridge mcast_snooping 0`, `link set ${LAN_BRIDGE} up`];
  for (const f of topology.families) {
    const lan = topology.lan[f]!;
    lines.push(`addr add ${lan.gateway}/${lan.prefix} dev ${LAN_BRIDGE}${f === 'IPv6' ? ' nodad' : ''}`);
  }
  const members = [
    ...topology.nodes.map((n) => ({ port: lanPortName('node', n.index), name: n.name })),
    ...topology.clients.map((c, i) => ({ port: lanPortName('client', i + 1), name: c.name })),
  ];
  for (const m of members) {
    lines.push(`link add ${m.port} type veth peer name ${UPLINK} netns ${netnsOf(m.name)}`);
    lines.push(`link set ${m.port} master ${LAN_BRIDGE} up`);
  }
  return lines;
}

function addrLine(ip: string, prefix: number, dev: string, family: IpFamily): string {
  // DAD would keep IPv6 addresses unusable ("tentative") for a second or more after creation.
  return `addr add ${ip}/${prefix} dev ${dev}${family === 'IPv6' ? ' nodad' : ''}`;
}

/** A node: its LAN address, a default route to the LAN gateway, routes to the other nodes' pods. */
export function nodeBatch(topology: LabTopology, node: NodeTopology): string[] {
  const lines = ['link set lo up', `link set ${UPLINK} up`];
  for (const f of topology.families) {
    const lan = topology.lan[f]!;
    lines.push(addrLine(node.ips[f]!, lan.prefix, UPLINK, f));
    lines.push(`route add ${DEFAULT_ROUTE[f]} via ${lan.gateway}`);
    // Addresses of the node's own pod CIDR without a pod fail fast instead of leaking to the gateway.
    lines.push(`route add unreachable ${node.podCidrs[f]}`);
    for (const other of topology.nodes) {
      if (other.name !== node.name) lines.push(`route add ${other.podCidrs[f]} via ${other.ips[f]}`);
    }
  }
  return lines;
}

/**
 * ICMP errors leave the kernel rate limited, per destination (a burst of 6, then one a second) and
 * globally: hundreds of requests to a REJECT rule or a closed UDP port would mostly time out instead
 * of being refused, and refused-vs-timeout is what tests check. Emptying the rate masks lifts both
 * limits (IPv6 keeps only type 0, which is reserved). Pods and nodes send such errors.
 */
export function icmpUnlimitedSysctls(topology: LabTopology): Sysctl[] {
  const has = (f: IpFamily) => topology.families.includes(f);
  return [
    has('IPv4') && { key: 'net.ipv4.icmp_ratemask', value: '0' },
    has('IPv6') && { key: 'net.ipv6.icmp.ratemask', value: '0' },
  ].filter((s): s is Sysctl => s !== false);
}

export function nodeSysctls(topology: LabTopology): Sysctl[] {
  const has = (f: IpFamily) => topology.families.includes(f);
  return [
    ...icmpUnlimitedSysctls(topology),
    has('IPv4') && { key: 'net.ipv4.ip_forward', value: '1' },
    // "default" only reaches interfaces created later: the pod veths, not the LAN uplink.
    has('IPv4') && { key: 'net.ipv4.conf.default.proxy_arp', value: '1' },
    // A node forwarding a packet back out of the LAN (a VIP before its rules exist) sends the
    // client an ICMP redirect to the LAN gateway, and the client then bypasses the node for that
    // VIP for minutes: later tests time out. The interface value counts too (OR semantics).
    has('IPv4') && { key: 'net.ipv4.conf.all.send_redirects', value: '0' },
    has('IPv4') && { key: `net.ipv4.conf.${UPLINK}.send_redirects`, value: '0' },
    has('IPv6') && { key: 'net.ipv6.conf.all.forwarding', value: '1' },
    ...noDadSysctls(topology),
  ].filter((s): s is Sysctl => s !== false);
}

/**
 * `nodad` covers the addresses we add, not the uplink's link-local one, and without a usable
 * link-local address a node cannot send neighbour solicitations: the first IPv6 reply across the LAN
 * waited a second. The kernel runs DAD unless both "all" and the interface say 0, and the uplink was
 * moved in before "default" was set, so it is named. Applied before the uplink comes up.
 */
function noDadSysctls(topology: LabTopology): Sysctl[] {
  if (!topology.families.includes('IPv6')) return [];
  return ['all', 'default', UPLINK].map((dev) => ({ key: `net.ipv6.conf.${dev}.accept_dad`, value: '0' }));
}

/**
 * Clients ignore ICMP redirects. IPv6 has no switch to stop a node from sending them (the IPv4 one
 * is in nodeSysctls), and a redirect accepted once sends a VIP's traffic past the node for minutes.
 * For a host, IPv4 ORs "all" with the interface value, so both are set.
 */
export function clientSysctls(topology: LabTopology): Sysctl[] {
  const v = topology.families.includes('IPv4') ? 'ipv4' : undefined;
  const v6 = topology.families.includes('IPv6') ? 'ipv6' : undefined;
  return [
    ...[v, v6]
      .filter((f): f is 'ipv4' | 'ipv6' => f !== undefined)
      .flatMap((f) => ['all', UPLINK].map((dev) => ({ key: `net.${f}.conf.${dev}.accept_redirects`, value: '0' }))),
    ...noDadSysctls(topology),
  ];
}

/**
 * A client: its addresses, and routes for the service, external-IP and LoadBalancer ranges via the
 * ingress node (as a router in front of a cluster would have). `src` pins the first address as the
 * default source so a test knows which address the backends will see.
 */
export function clientBatch(topology: LabTopology, client: ClientTopology): string[] {
  const lines = ['link set lo up', `link set ${UPLINK} up`];
  const ingress = topology.nodes.find((n) => n.name === topology.ingressNode)!;
  for (const f of topology.families) {
    const lan = topology.lan[f]!;
    const ips = client.ips[f]!;
    for (const ip of ips) lines.push(addrLine(ip, lan.prefix, UPLINK, f));
    const src = ips[0]!;
    for (const cidr of [topology.serviceCidrs[f], topology.externalIpCidrs[f], topology.loadBalancerCidrs[f]]) {
      lines.push(`route add ${cidr} via ${ingress.ips[f]} src ${src}`);
    }
    if (topology.clientPodRoutes) {
      for (const node of topology.nodes) lines.push(`route add ${node.podCidrs[f]} via ${node.ips[f]} src ${src}`);
    }
  }
  return lines;
}

export interface PodPlan {
  podNetns: string;
  veth: string;
  ips: PerFamily<string>;
}

/** Node side of a pod: the veth pair (peer straight into the pod namespace) and host routes. */
export function podNodeBatch(pod: PodPlan): string[] {
  const families = Object.keys(pod.ips) as IpFamily[];
  return ipOnly([
    `link add ${pod.veth} address ${POD_GATEWAY_MAC} type veth peer name ${UPLINK} netns ${pod.podNetns}`,
    `link set ${pod.veth} up`,
    families.includes('IPv6') && addrLine(POD_GATEWAY.IPv6, 64, pod.veth, 'IPv6'),
    ...families.map((f) => `route add ${pod.ips[f]}/${HOST_PREFIX[f]} dev ${pod.veth}`),
  ]);
}

/** Pod side: its own address, and a default route via the pinned link-local gateway. */
export function podBatch(pod: PodPlan): string[] {
  const lines = ['link set lo up', `link set ${UPLINK} up`];
  for (const f of Object.keys(pod.ips) as IpFamily[]) {
    lines.push(addrLine(pod.ips[f]!, HOST_PREFIX[f], UPLINK, f));
    // A permanent neighbour entry: no ARP/NDP round trip, and no dependence on proxy_arp timing.
    lines.push(`neigh add ${POD_GATEWAY[f]} lladdr ${POD_GATEWAY_MAC} dev ${UPLINK} nud permanent`);
    if (f === 'IPv4') lines.push(`route add ${POD_GATEWAY.IPv4}/32 dev ${UPLINK} scope link`);
    lines.push(`route add ${DEFAULT_ROUTE[f]} via ${POD_GATEWAY[f]} dev ${UPLINK}`);
  }
  return lines;
}

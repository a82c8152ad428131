/** Per-mode configuration of a golden scenario, shared by golden and conformance tests. */
import { localDetectorFor } from '../../src/model/local-detector.js';
import { resolveNodePortAddresses } from '../../src/model/nodeport-addresses.js';
import type { IPFamily } from '../../src/model/ip.js';
import type { IptablesRuleConfig } from '../../src/modes/iptables/rules.js';
import type { NftablesRuleConfig } from '../../src/modes/nftables/service-rules.js';
import type { IpvsRuleConfig } from '../../src/modes/ipvs/desired.js';
import { nodePortIPs as ipvsNodePortIPs } from '../../src/modes/ipvs/addresses.js';
import type { Scenario } from './harness.js';

export function iptablesConfigFor(s: Scenario, family: IPFamily): IptablesRuleConfig {
  const node = s.checkout.snapshot.node;
  const c = s.config;
  const localAddresses = (c.localAddresses ?? []).filter((ip) => ip.includes(':') === (family === 'IPv6'));
  return {
    family,
    masqueradeMark: c.masqueradeMark ?? '0x4000',
    masqueradeAll: c.masqueradeAll ?? false,
    localDetector: localDetectorFor({ mode: 'ClusterCIDR', family, clusterCIDRs: c.clusterCIDRs, podCIDRs: [], bridgeInterface: '', interfaceNamePrefix: '' }),
    localhostNodePorts: c.localhostNodePorts ?? true,
    nodePortAddresses: resolveNodePortAddresses(c.nodePortAddresses ?? [], family, node.addresses[family], localAddresses),
    nodeIP: node.addresses[family],
    randomFully: false,
    dropInvalid: true,
    topology: { nodeName: node.name, zone: node.zone },
    preferSameNode: true,
  };
}

/** nftables mode's rule configuration for a scenario (nodePortAddresses default to `primary`, as upstream). */
export function nftablesConfigFor(s: Scenario, family: IPFamily): NftablesRuleConfig {
  const node = s.checkout.snapshot.node;
  // Scenario files may carry nftables-only settings that the shared ScenarioConfig does not name.
  const c = s.config as Scenario['config'] & { readonly serviceCIDRs?: readonly string[] };
  const localAddresses = (c.localAddresses ?? []).filter((ip) => ip.includes(':') === (family === 'IPv6'));
  const configured = c.nodePortAddresses && c.nodePortAddresses.length > 0 ? c.nodePortAddresses : ['primary'];
  return {
    family,
    masqueradeMark: Number(c.masqueradeMark ?? '0x4000'),
    masqueradeAll: c.masqueradeAll ?? false,
    localDetector: localDetectorFor({ mode: 'ClusterCIDR', family, clusterCIDRs: c.clusterCIDRs, podCIDRs: [], bridgeInterface: '', interfaceNamePrefix: '' }),
    nodePortAddresses: resolveNodePortAddresses(configured, family, node.addresses[family], localAddresses),
    nodeIP: node.addresses[family],
    serviceCIDRs: (c.serviceCIDRs ?? []).filter((cidr) => cidr.includes(':') === (family === 'IPv6')),
    topology: { nodeName: node.name, zone: node.zone },
    preferSameNode: true,
  };
}

/** IPVS mode's rule configuration for a scenario: the scenario's local addresses are the node's (none on kube-ipvs0). */
export function ipvsConfigFor(s: Scenario, family: IPFamily): IpvsRuleConfig {
  const node = s.checkout.snapshot.node;
  const c = s.config;
  const localAddresses = (c.localAddresses ?? []).filter((ip) => ip.includes(':') === (family === 'IPv6'));
  return {
    family,
    scheduler: 'rr',
    masqueradeMark: c.masqueradeMark ?? '0x4000',
    masqueradeAll: c.masqueradeAll ?? false,
    localDetector: localDetectorFor({ mode: 'ClusterCIDR', family, clusterCIDRs: c.clusterCIDRs, podCIDRs: [], bridgeInterface: '', interfaceNamePrefix: '' }),
    randomFully: false,
    nodeIP: node.addresses[family],
    nodePortIPs: ipvsNodePortIPs(resolveNodePortAddresses(c.nodePortAddresses ?? [], family, node.addresses[family], localAddresses), localAddresses),
    nodeAddresses: new Set(localAddresses),
    topology: { nodeName: node.name, zone: node.zone },
    preferSameNode: true,
  };
}

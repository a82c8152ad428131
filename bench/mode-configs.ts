/**
 * The rule configuration every mode gets in the benchmark: one node address, pods in
 * 10.64.0.0/10, services in 10.96.0.0/16, NodePorts on the node address only, so the modes
 * program the same services the same way.
 */
import { nodePortIPs } from '../src/modes/ipvs/addresses.js';
import type { IpvsRuleConfig } from '../src/modes/ipvs/desired.js';
import type { IptablesRuleConfig } from '../src/modes/iptables/rules.js';
import type { NftablesRuleConfig } from '../src/modes/nftables/service-rules.js';

export const NODE_IP = '192.168.50.11';
const POD_CIDR = '10.64.0.0/10';

export const nftablesConfig = (nodeName: string, zone: string): NftablesRuleConfig => ({
  family: 'IPv4',
  masqueradeMark: 0x4000,
  masqueradeAll: false,
  localDetector: { kind: 'cidr', cidr: POD_CIDR },
  nodePortAddresses: { matchAll: false, ips: [NODE_IP] },
  nodeIP: NODE_IP,
  serviceCIDRs: ['10.96.0.0/16'],
  topology: { nodeName, zone },
  preferSameNode: true,
});

export const iptablesConfig = (nodeName: string, zone: string): IptablesRuleConfig => ({
  family: 'IPv4',
  masqueradeMark: '0x00004000',
  masqueradeAll: false,
  localDetector: { kind: 'cidr', cidr: POD_CIDR },
  localhostNodePorts: false,
  nodePortAddresses: { matchAll: false, ips: [NODE_IP] },
  nodeIP: NODE_IP,
  randomFully: true,
  dropInvalid: true,
  topology: { nodeName, zone },
  preferSameNode: true,
});

export const ipvsConfig = (nodeName: string, zone: string, nodeAddresses: readonly string[]): IpvsRuleConfig => ({
  family: 'IPv4',
  scheduler: 'rr',
  masqueradeMark: '0x00004000',
  masqueradeAll: false,
  localDetector: { kind: 'cidr', cidr: POD_CIDR },
  randomFully: true,
  nodeIP: NODE_IP,
  nodePortIPs: nodePortIPs({ matchAll: false, ips: [NODE_IP] }, nodeAddresses),
  nodeAddresses: new Set(nodeAddresses),
  topology: { nodeName, zone },
  preferSameNode: true,
});

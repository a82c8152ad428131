/** Per-mode configuration of a golden scenario, shared by golden and conformance tests. */
import { localDetectorFor } from '../../src/model/local-detector.js';
import { resolveNodePortAddresses } from '../../src/model/nodeport-addresses.js';
import type { IPFamily } from '../../src/model/ip.js';
import type { IptablesRuleConfig } from '../../src/modes/iptables/rules.js';
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


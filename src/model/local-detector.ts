import type { IPFamily } from './ip.js';
import { parseCIDR } from './ip.js';

/**
 * How the proxy recognises traffic from local pods (upstream's LocalTrafficDetector). Each mode
 * renders it into its own match syntax; 'none' means no pod-specific rules are written.
 */
export type LocalDetector =
  | { readonly kind: 'none' }
  | { readonly kind: 'cidr'; readonly cidr: string }
  | { readonly kind: 'bridge'; readonly interface: string }
  | { readonly kind: 'prefix'; readonly prefix: string };

export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';

export interface LocalDetectorInputs {
  readonly mode: DetectLocalMode;
  readonly family: IPFamily;
  /** clusterCIDR entries (at most one per family). */
  readonly clusterCIDRs: readonly string[];
  /** The Node's spec.podCIDRs, for NodeCIDR mode. */
  readonly podCIDRs: readonly string[];
  readonly bridgeInterface: string;
  readonly interfaceNamePrefix: string;
}

export function localDetectorFor(inputs: LocalDetectorInputs): LocalDetector {
  const pickCIDR = (list: readonly string[]): LocalDetector => {
    for (const text of list) {
      const cidr = parseCIDR(text);
      if (cidr && cidr.family === inputs.family) return { kind: 'cidr', cidr: cidr.text };
    }
    return { kind: 'none' };
  };
  switch (inputs.mode) {
    case 'ClusterCIDR':
      return pickCIDR(inputs.clusterCIDRs);
    case 'NodeCIDR':
      return pickCIDR(inputs.podCIDRs);
    case 'BridgeInterface':
      return inputs.bridgeInterface ? { kind: 'bridge', interface: inputs.bridgeInterface } : { kind: 'none' };
    case 'InterfaceNamePrefix':
      return inputs.interfaceNamePrefix ? { kind: 'prefix', prefix: inputs.interfaceNamePrefix } : { kind: 'none' };
  }
}

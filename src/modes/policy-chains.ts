import { externallyAccessible, usesClusterEndpoints, usesLocalEndpoints, type ServicePort } from '../model/service-port.js';

/** The per-service chain names a policy decision picks from (iptables and nftables name them differently). */
export interface PolicyChainNames {
  readonly clusterPolicy: string;
  readonly localPolicy: string;
}

/**
 * Which policy chains a service port needs and where internal and external traffic goes, as
 * upstream's iptables and nftables proxiers both decide it: internal traffic (ClusterIP) follows
 * internalTrafficPolicy, external traffic (NodePort, externalIP, LB) externalTrafficPolicy, and a
 * Local policy without a local endpoint has no endpoints for that traffic.
 */
export interface PolicyChains {
  readonly usesClusterPolicyChain: boolean;
  readonly usesLocalPolicyChain: boolean;
  readonly internalPolicyChain: string;
  readonly hasInternalEndpoints: boolean;
  readonly externalPolicyChain: string;
  readonly hasExternalEndpoints: boolean;
  /** The EXT chain exists whenever there are endpoints anywhere: its pod and host short-circuits matter even when no endpoint is local. */
  readonly usesExternalChain: boolean;
}

export function policyChains(
  sp: ServicePort,
  endpoints: { readonly cluster: readonly unknown[]; readonly local: readonly unknown[]; readonly any: boolean },
  chains: PolicyChainNames,
): PolicyChains {
  const noLocal = endpoints.local.length === 0;
  return {
    usesClusterPolicyChain: endpoints.cluster.length > 0 && usesClusterEndpoints(sp),
    usesLocalPolicyChain: !noLocal && usesLocalEndpoints(sp),
    internalPolicyChain: sp.internalPolicyLocal ? chains.localPolicy : chains.clusterPolicy,
    hasInternalEndpoints: endpoints.any && !(sp.internalPolicyLocal && noLocal),
    externalPolicyChain: sp.externalPolicyLocal ? chains.localPolicy : chains.clusterPolicy,
    hasExternalEndpoints: endpoints.any && !(sp.externalPolicyLocal && noLocal),
    usesExternalChain: endpoints.any && externallyAccessible(sp),
  };
}

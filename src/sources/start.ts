import type { KubernetesSourceInput } from './kubernetes/source.js';

export { KubeConnectionError } from './kubernetes/connection-error.js';

/** A started source: `ready` resolves once the first complete listing reached the sink. */
export interface RunningSource {
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/** What the CLI gives the API source (the test-only timing overrides stay out). */
export type KubernetesSourceOptions = Omit<KubernetesSourceInput, 'timings' | 'nodeWaitMs'>;

/**
 * Watches the Kubernetes API (Services, EndpointSlices, this Node); see README.md in this folder.
 * Rejects with KubeConnectionError when --kubeconfig / --master / the in-cluster setup is unusable.
 */
export async function startKubernetesSource(opts: KubernetesSourceOptions): Promise<RunningSource> {
  // Loaded on first use: @kubernetes/client-node is two thirds of the CLI's start-up time, which
  // a proxy following a manifest directory (the lab, the VM under emulation) never needs.
  const { startKubernetesSource: startSupervisedSource } = await import('./kubernetes/source.js');
  return startSupervisedSource(opts);
}

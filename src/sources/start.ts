import type { Registry } from 'prom-client';
import type { RuntimeSettings } from '../config/runtime.js';
import type { ExtraOptions, KubeProxyConfiguration } from '../config/types.js';
import type { Logger } from '../util/log.js';
import type { ObjectSink } from './sink.js';

export { KubeConnectionError } from './kubernetes/connection-error.js';

/** A started source: `ready` resolves once the first complete listing reached the sink. */
export interface RunningSource {
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

export interface KubernetesSourceOptions {
  readonly config: KubeProxyConfiguration;
  readonly extra: ExtraOptions;
  readonly settings: RuntimeSettings;
  readonly sink: ObjectSink;
  readonly log: Logger;
  /** The /metrics registry, for the informer restart counter. */
  readonly registry?: Registry;
}

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

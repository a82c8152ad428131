import type { RuntimeSettings } from '../config/runtime.js';
import type { ExtraOptions, KubeProxyConfiguration } from '../config/types.js';
import type { Logger } from '../util/log.js';
import type { ObjectSink } from './sink.js';

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
}

/** Watches the Kubernetes API (Services, EndpointSlices, this Node). */
export async function startKubernetesSource(_opts: KubernetesSourceOptions): Promise<RunningSource> {
  throw new Error('the Kubernetes API source is not available yet; use --manifests=DIR');
}

import type { RuntimeSettings } from '../config/runtime.js';
import type { ExtraOptions, KubeProxyConfiguration } from '../config/types.js';
import { ChangeTracker } from '../model/tracker.js';
import type { Snapshot } from '../model/snapshot.js';
import { ManifestSource } from '../sources/manifests.js';
import type { ObjectSink } from '../sources/sink.js';
import { startKubernetesSource } from '../sources/start.js';
import type { Logger } from '../util/log.js';

/** The API's view for this node, kept current while the audit runs (it may check more than once). */
export interface DesiredState {
  /** The state as of now: everything the source delivered so far. */
  current(): Promise<Snapshot>;
  stop(): Promise<void>;
}

export interface DesiredStateOptions {
  readonly config: KubeProxyConfiguration;
  readonly extra: ExtraOptions;
  readonly settings: RuntimeSettings;
  readonly log: Logger;
}

/**
 * Feeds the same source the proxy would use (the API, or --manifests) into the same change
 * tracker the proxy uses, without a sync loop behind it: the snapshot is what the proxier would
 * be handed. Resolves once the first complete listing is in.
 */
export async function startDesiredState(opts: DesiredStateOptions): Promise<DesiredState> {
  const tracker = new ChangeTracker({
    nodeName: opts.settings.nodeName,
    onInvalid: (kind, name, reason) => opts.log.warn({ kind, name, reason }, 'Skipping an invalid object, as the proxy does'),
  });
  const sink: ObjectSink = {
    upsertService: (svc) => void tracker.upsertService(svc),
    deleteService: (name) => void tracker.deleteService(name),
    upsertEndpointSlice: (slice) => void tracker.upsertEndpointSlice(slice),
    deleteEndpointSlice: (name) => void tracker.deleteEndpointSlice(name),
    upsertNode: (node) => void tracker.setNode(node),
    servicesSynced: () => {},
    endpointSlicesSynced: () => {},
  };
  if (opts.extra.manifests) {
    const manifests = new ManifestSource({ dir: opts.extra.manifests, nodeName: opts.settings.nodeName, sink, log: opts.log });
    await manifests.start();
    // The directory is re-read for each check instead of followed: nothing runs in between.
    await manifests.stop();
    return {
      current: async () => {
        await manifests.rescan();
        return tracker.checkout().snapshot;
      },
      stop: async () => {},
    };
  }
  const source = await startKubernetesSource({ config: opts.config, extra: opts.extra, settings: opts.settings, sink, log: opts.log });
  try {
    await source.ready;
  } catch (err) {
    await source.stop();
    throw err;
  }
  return { current: async () => tracker.checkout().snapshot, stop: () => source.stop() };
}

import type { ChangeTracker } from '../model/tracker.js';
import type { ProxyMetrics } from '../server/metrics.js';
import type { SyncController } from '../sync/controller.js';
import type { ObjectSink } from './sink.js';

/** Feeds source events into the tracker and wakes the sync loop (upstream's On*Add/Update/Delete). */
export function trackerSink(tracker: ChangeTracker, controller: SyncController, metrics?: ProxyMetrics): ObjectSink {
  const changed = (): void => controller.notifyChange();
  return {
    upsertService: (svc) => {
      metrics?.serviceChangesTotal.inc();
      tracker.upsertService(svc);
      changed();
    },
    deleteService: (name) => {
      metrics?.serviceChangesTotal.inc();
      tracker.deleteService(name);
      changed();
    },
    upsertEndpointSlice: (slice) => {
      metrics?.endpointChangesTotal.inc();
      tracker.upsertEndpointSlice(slice);
      changed();
    },
    deleteEndpointSlice: (name) => {
      metrics?.endpointChangesTotal.inc();
      tracker.deleteEndpointSlice(name);
      changed();
    },
    upsertNode: (node) => {
      // A zone, address or pod CIDR change rewrites every service (upstream's OnTopologyChange).
      if (tracker.setNode(node)) controller.requestSync();
    },
    servicesSynced: () => controller.markServicesSynced(),
    endpointSlicesSynced: () => controller.markEndpointSlicesSynced(),
  };
}

/**
 * Event-to-kernel latency through the real sync loop: a SyncController with its
 * BoundedFrequencyRunner at minSyncPeriod 0. The clock starts when the change is handed to the
 * tracker (where a source delivers it) and stops when the controller reports the sync done, i.e.
 * after the proxier's sync promise resolved with the kernel's acknowledgement.
 */
import type { ChangeTracker } from '../src/model/tracker.js';
import { SyncController, type SyncOutcome } from '../src/sync/controller.js';
import type { Proxier } from '../src/sync/proxier.js';
import { silentLogger } from '../src/util/log.js';
import { percentile } from './stats.js';
import type { LatencyResult } from './types.js';
import { benchSlice, type WorkloadSize } from './workload.js';

export interface LatencyOptions {
  readonly samples: number;
  /** Stop early once this much time went by (with at least 10 samples): slow modes at 10k. */
  readonly budgetMs: number;
  readonly onSample?: (done: number) => void;
}

/** The proxier as the controller sees it: already set up, and stopped by the harness, not the loop. */
function borrowed(proxier: Proxier): Proxier {
  return { mode: proxier.mode, family: proxier.family, setup: async () => {}, sync: (r) => proxier.sync(r), stop: async () => {} };
}

export async function measureEventLatency(tracker: ChangeTracker, proxier: Proxier, size: WorkloadSize, opts: LatencyOptions): Promise<LatencyResult> {
  let waiter: ((o: SyncOutcome) => void) | undefined;
  const controller = new SyncController({
    tracker,
    proxiers: [borrowed(proxier)],
    minSyncPeriodMs: 0,
    syncPeriodMs: 3_600_000,
    log: silentLogger,
    onSync: (o) => waiter?.(o),
  });
  const nextSync = (): Promise<SyncOutcome> => new Promise((resolve) => (waiter = resolve));
  try {
    let synced = nextSync();
    controller.start();
    controller.markServicesSynced();
    controller.markEndpointSlicesSynced();
    await synced; // the loop's own first sync (nothing pending): not a sample
    const times: number[] = [];
    const started = performance.now();
    for (let k = 0; k < opts.samples; k++) {
      if (k >= 10 && performance.now() - started > opts.budgetMs) break;
      // A different service each time, so no sync is a repeat of the previous one.
      const i = (k * 7919) % size.services;
      synced = nextSync();
      const t0 = performance.now();
      // The replacement pod slots repeat every 4 generations: if this one equals what the service
      // already has, the tracker sees no change and no sync would come; take the next one.
      for (let g = 0; g < 4 && (g === 0 || !tracker.hasPendingChanges()); g++) {
        tracker.upsertEndpointSlice(benchSlice(i, size.endpointsPerService, 100 + k * 4 + g));
      }
      controller.notifyChange();
      const outcome = await synced;
      times.push(performance.now() - t0);
      if (!outcome.ok) throw new Error(`sync failed during the latency run: ${String(outcome.error)}`);
      opts.onSample?.(times.length);
    }
    return { samples: times.length, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), maxMs: Math.max(...times) };
  } finally {
    await controller.stop();
  }
}

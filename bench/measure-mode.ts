/**
 * One mode on one workload, in a fresh scratch namespace: the sync steps through the production
 * proxier, then event-to-kernel latency through the real sync loop, then peak memory, then the
 * kernel's counts (last, so that parsing a large listing does not count as the mode's memory).
 */
import type { Checkout } from '../src/model/snapshot.js';
import type { Proxier } from '../src/sync/proxier.js';
import { measureEventLatency } from './latency.js';
import { MemorySampler } from './memory.js';
import { createDriver } from './mode-drivers.js';
import { withNetns } from './netns.js';
import { sizeLabel } from './sizes.js';
import { medianBy } from './stats.js';
import type { BenchMode, KernelCounts, LatencyResult, MemoryResult, StepName, StepTiming } from './types.js';
import { addOneService, buildWorkload, changeOneEndpoint, churnOnePercent, type WorkloadSize } from './workload.js';

export interface MeasureOptions {
  /** One-endpoint changes per run; the median is reported. */
  readonly repeats: number;
  readonly latencySamples: number;
  readonly latencyBudgetMs: number;
}

/** Results leave as they are measured, so a run cut off by a timeout keeps what it had. */
export interface MeasureSink {
  progress(what: string): void;
  model(ms: number): void;
  step(name: StepName, timing: StepTiming): void;
  latency(result: LatencyResult): void;
  memory(result: MemoryResult): void;
  kernel(counts: KernelCounts): void;
}

async function timedSync(proxier: Proxier, c: Checkout, forceFullSync = false): Promise<StepTiming> {
  const t0 = performance.now();
  const r = await proxier.sync({
    snapshot: c.snapshot.families.IPv4,
    node: c.snapshot.node,
    changedServices: forceFullSync ? new Set() : c.changedServices,
    forceFullSync,
  });
  return { generateMs: r.generateMs, applyMs: r.applyMs, totalMs: performance.now() - t0 };
}

export async function measureMode(mode: BenchMode, size: WorkloadSize, opts: MeasureOptions, sink: MeasureSink): Promise<void> {
  await withNetns(`${mode}-${sizeLabel(size)}`, async (netns) => {
    const memory = new MemorySampler();
    const stepDone = (name: StepName, t: StepTiming): void => {
      memory.sample();
      sink.step(name, t);
    };
    sink.progress('building the workload');
    const t0 = performance.now();
    const { tracker, checkout } = buildWorkload(size);
    sink.model(performance.now() - t0);
    const driver = createDriver(mode, netns);
    const proxier = driver.proxier;
    try {
      await proxier.setup();
      sink.progress('first full sync');
      stepDone('full', await timedSync(proxier, checkout));
      sink.progress('no-op sync');
      stepDone('noop', await timedSync(proxier, tracker.checkout()));
      const partials: StepTiming[] = [];
      for (let g = 1; g <= opts.repeats; g++) {
        sink.progress(`one endpoint changed ${g}/${opts.repeats}`);
        partials.push(await timedSync(proxier, changeOneEndpoint(tracker, size, g)));
      }
      stepDone('oneEndpoint', medianBy(partials, (t) => t.totalMs));
      sink.progress('one service added');
      stepDone('addService', await timedSync(proxier, addOneService(tracker, size, 0)));
      sink.progress('1% churn');
      // Generation 7 is a replacement pod slot no earlier step gave these services.
      stepDone('churn', await timedSync(proxier, churnOnePercent(tracker, size, 7)));
      sink.progress('forced full resync');
      stepDone('resync', await timedSync(proxier, tracker.checkout(), true));
      sink.progress('event-to-kernel latency');
      sink.latency(
        await measureEventLatency(tracker, proxier, size, {
          samples: opts.latencySamples,
          budgetMs: opts.latencyBudgetMs,
          onSample: (n) => n % 10 === 0 && sink.progress(`event-to-kernel latency ${n}/${opts.latencySamples}`),
        }),
      );
      sink.memory(memory.stop());
      sink.progress('counting kernel objects');
      sink.kernel(await driver.countKernel());
    } finally {
      memory.stop();
      await proxier.stop();
    }
  });
}

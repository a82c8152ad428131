/** Folds a worker's messages into the report's records (pure). */
import type { WorkerOutcome } from './run-worker.js';
import type { BenchMode, ModeRun, NftBaseline, StepName, StepTiming } from './types.js';
import type { WorkloadSize } from './workload.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function modeRunFrom(mode: BenchMode, size: WorkloadSize, outcome: Pick<WorkerOutcome, 'messages' | 'status' | 'note'>): ModeRun {
  const steps: Partial<Record<StepName, StepTiming>> = {};
  const run: Mutable<ModeRun> = { mode, size, status: outcome.status, steps };
  if (outcome.note) run.note = outcome.note;
  for (const m of outcome.messages) {
    if (m.type === 'model') run.modelMs = m.ms;
    else if (m.type === 'step') steps[m.name] = m.timing;
    else if (m.type === 'latency') run.latency = m.result;
    else if (m.type === 'memory') run.memory = m.result;
    else if (m.type === 'kernel') run.kernel = m.counts;
  }
  return run;
}

export function nftBaselineFrom(size: WorkloadSize, outcome: Pick<WorkerOutcome, 'messages' | 'status' | 'note'>, runs: number): NftBaseline {
  const found = outcome.messages.find((m) => m.type === 'baseline');
  if (!found || found.type !== 'baseline') return { size, status: outcome.status === 'ok' ? 'failed' : outcome.status, note: outcome.note ?? 'no result' };
  const r = found.result;
  return {
    size,
    status: 'ok',
    runs,
    commands: r.commands,
    batchBytes: r.batchBytes,
    nativeMs: r.nativeMs,
    prepareMs: r.prepareMs,
    sendMs: r.sendMs,
    nftJsonMs: r.nftJsonMs,
    nftTextMs: r.nftTextMs,
    floorMs: r.floorMs,
    tinyTransactionMs: r.tinyTransactionMs,
    sameState: new Set(Object.values(r.states)).size === 1,
  };
}

/**
 * A measuring child process: one mode on one workload size, or the nftables baselines for one
 * size. Its own process, so peak RSS is this mode's alone and no other mode's garbage is
 * collected on its time. Started by the harness (run-worker.ts):
 *   node dist/bench/worker.js --job mode --mode nftables-netlink --size 1000x10 [--repeats 5] [--latency-samples 50] [--latency-budget 60]
 *   node dist/bench/worker.js --job nft-baseline --size 1000x10 [--runs 3]
 */
import { parseArgs } from 'node:util';
import { measureMode } from './measure-mode.js';
import { measureNftBaselines } from './nft-baselines.js';
import { parseSize } from './sizes.js';
import { BENCH_MODES, type BenchMode } from './types.js';
import { encodeMessage, type WorkerMessage } from './worker-protocol.js';

const send = (m: WorkerMessage): void => void process.stdout.write(encodeMessage(m));

// SIGTERM from the harness (timeout, Ctrl-C) must still remove the scratch namespaces, which
// withNetns does on 'exit'.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(130));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      job: { type: 'string' },
      mode: { type: 'string' },
      size: { type: 'string' },
      repeats: { type: 'string', default: '5' },
      'latency-samples': { type: 'string', default: '50' },
      'latency-budget': { type: 'string', default: '60' },
      runs: { type: 'string', default: '3' },
    },
  });
  const size = parseSize(values.size ?? '');
  if (values.job === 'nft-baseline') {
    const result = await measureNftBaselines({
      services: size.services,
      endpoints: size.endpointsPerService,
      runs: Number(values.runs),
      family: 'ip',
      progress: (what) => send({ type: 'progress', what }),
    });
    send({ type: 'baseline', result });
    return;
  }
  if (values.job !== 'mode') throw new Error(`--job is mode or nft-baseline, got ${values.job}`);
  const mode = values.mode as BenchMode;
  if (!BENCH_MODES.includes(mode)) throw new Error(`unknown mode ${values.mode}; known: ${BENCH_MODES.join(', ')}`);
  await measureMode(
    mode,
    size,
    { repeats: Number(values.repeats), latencySamples: Number(values['latency-samples']), latencyBudgetMs: Number(values['latency-budget']) * 1000 },
    {
      progress: (what) => send({ type: 'progress', what }),
      model: (ms) => send({ type: 'model', ms }),
      step: (name, timing) => send({ type: 'step', name, timing }),
      latency: (result) => send({ type: 'latency', result }),
      memory: (result) => send({ type: 'memory', result }),
      kernel: (counts) => send({ type: 'kernel', counts }),
    },
  );
}

main().then(
  () => {
    send({ type: 'done' });
    // Native handles or unref'd timers must not keep a finished worker alive.
    process.exit(0);
  },
  (err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  },
);

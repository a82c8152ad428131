import t from 'tap';
import { BoundedFrequencyRunner } from '../../src/sync/runner.js';
import { FakeClock, flush } from '../support/unit/fake-clock.js';

function setup(fn: () => Promise<void> = async () => {}) {
  const clock = new FakeClock();
  const runs: number[] = [];
  const runner = new BoundedFrequencyRunner(
    async () => {
      runs.push(clock.now());
      await fn();
    },
    { minIntervalMs: 1000, retryIntervalMs: 30_000, maxIntervalMs: 3_600_000 },
    () => {},
    clock,
  );
  return { clock, runs, runner };
}

t.test('run() before start() is a no-op; requests coalesce', async (t) => {
  const { clock, runs, runner } = setup();
  runner.run();
  await clock.advance(5000);
  t.same(runs, [], 'not started');
  runner.start();
  runner.run();
  runner.run();
  runner.run();
  await clock.advance(1000);
  t.equal(runs.length, 1, 'three requests, one run');
});

t.test('never sooner than minInterval after the previous run', async (t) => {
  const { clock, runs, runner } = setup();
  runner.start();
  await clock.advance(2000);
  runner.run();
  await clock.advance(0);
  t.same(runs, [2000], 'first run at once (the last run "finished" at start)');
  runner.run();
  await clock.advance(500);
  t.same(runs, [2000], 'held back by minInterval');
  await clock.advance(500);
  t.same(runs, [2000, 3000]);
});

t.test('a failed run is retried after retryInterval', async (t) => {
  let fail = true;
  const { clock, runs, runner } = setup(async () => {
    if (fail) throw new Error('boom');
  });
  runner.start();
  await clock.advance(1000);
  runner.run();
  await clock.advance(0);
  t.equal(runs.length, 1);
  fail = false;
  await clock.advance(29_000);
  t.equal(runs.length, 1, 'not yet');
  await clock.advance(1000);
  t.equal(runs.length, 2, 'retried after 30 s');
});

t.test('with nothing requested it still runs every maxInterval', async (t) => {
  const { clock, runs, runner } = setup();
  runner.start();
  await clock.advance(3_600_000);
  t.equal(runs.length, 1);
  await clock.advance(3_600_000);
  t.equal(runs.length, 2);
});

t.test('one run at a time; stop() waits for the run in progress', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { clock, runs, runner } = setup(() => gate);
  runner.start();
  await clock.advance(1000);
  runner.run();
  await clock.advance(0);
  runner.run();
  await clock.advance(10_000);
  t.equal(runs.length, 1, 'second request waits for the first run');
  let stopped = false;
  const stopping = runner.stop().then(() => (stopped = true));
  await flush();
  t.notOk(stopped);
  release();
  await stopping;
  t.ok(stopped);
});

t.test('maxInterval below minInterval is refused', async (t) => {
  t.throws(() => new BoundedFrequencyRunner(async () => {}, { minIntervalMs: 10, retryIntervalMs: 10, maxIntervalMs: 5 }));
});

// Labs are removed however their owner ends; what a killed owner leaves is collected by gcStaleLabs,
// and nothing else is ever touched.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gcStaleLabs } from '../../src/lab/index.js';
import { createNetns, deleteNetns, listNetns, waitForPidsGone } from '../../src/lab/namespaces.js';
import { netnsNameFor, newLabId } from '../../src/lab/owner.js';

interface OwnerReport {
  id: string;
  namespaces: string[];
  pids?: (number | undefined)[];
  escapee?: number;
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The compiled twin of a source file under the repo, in dist/. */
const compiledTwin = (source: string) => join(REPO, 'dist', relative(REPO, source)).replace(/\.ts$/, '.js');

function isFresh(source: string): boolean {
  try {
    return statSync(compiledTwin(source)).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    return false;
  }
}

/**
 * How to run a fixture: its compiled copy in dist/ when that and every lab module it loads are
 * current (after `npm run build`), else the source through this process's TypeScript loader. The
 * loader compiles the lab in every child: seconds here, minutes in an emulated VM.
 */
function fixtureArgv(name: string): string[] {
  const source = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const labDir = join(REPO, 'src/lab');
  const labSources = readdirSync(labDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(labDir, f));
  if ([source, ...labSources].every(isFresh)) return [compiledTwin(source)];
  return [...process.execArgv, source];
}
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
const present = (names: string[]) => names.filter((n) => listNetns().includes(n));

/** Runs a fixture with this process's TypeScript loader; resolves with its report line and its exit. */
function runOwner(script: string, args: string[], linePrefix = '') {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('TAP')) delete env[k];
  const child = spawn(process.execPath, [...fixtureArgv(script), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const report = new Promise<OwnerReport>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith(linePrefix) && line.slice(linePrefix.length).startsWith('{')) {
        resolve(JSON.parse(line.slice(linePrefix.length)) as OwnerReport);
      }
    });
    void exited.then((e) => reject(new Error(`fixture exited (${JSON.stringify(e)}) before reporting: ${stderr}`)));
  });
  return { child, report, exited, stderr: () => stderr };
}

async function expectGone(t: Test, report: OwnerReport): Promise<void> {
  t.same(present(report.namespaces), [], 'no namespace left');
  const pids = (report.pids ?? []).filter((p): p is number => p !== undefined);
  t.same(await waitForPidsGone(pids, 5000), [], 'no process left');
  t.same(await waitForPidsGone(processesMentioning(report.id), 5000), [], 'no agent left');
}

function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const pid of listNumericProc()) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) && alive(pid)) out.push(pid);
    } catch {
      // Gone.
    }
  }
  return out;
}

function listNumericProc(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

for (const [mode, expected] of [
  ['exit', { code: 3, signal: null }],
  ['throw', { code: 1, signal: null }],
  ['reject', { code: 1, signal: null }],
] as const) {
  t.test(`owner ends by ${mode}: the lab is removed`, async (t) => {
    const owner = runOwner('lab-owner.ts', [mode]);
    const report = await owner.report;
    t.same(await owner.exited, expected, 'exit status');
    await expectGone(t, report);
  });
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  t.test(`owner gets ${signal}: the lab is removed and the owner still dies of the signal`, async (t) => {
    const owner = runOwner('lab-owner.ts', ['wait']);
    const report = await owner.report;
    t.same(present(report.namespaces).length, report.namespaces.length, 'the lab is up');
    owner.child.kill(signal);
    t.same(await owner.exited, { code: null, signal });
    await expectGone(t, report);
  });
}

t.test('a tap test that throws with its lab up: removed when the test process ends', async (t) => {
  const owner = runOwner('lab-in-tap-test.ts', ['throw'], 'LAB ');
  const report = await owner.report;
  t.equal((await owner.exited).code, 1, 'the test failed, and the process ended at once');
  await expectGone(t, report);
});

t.test('a tap test killed (as the runner does on timeout) with its lab up: removed', async (t) => {
  const owner = runOwner('lab-in-tap-test.ts', ['wait'], 'LAB ');
  const report = await owner.report;
  owner.child.kill('SIGTERM');
  await owner.exited;
  await expectGone(t, report);
});

t.test('an owner killed with SIGKILL: gcStaleLabs collects its namespaces and processes', async (t) => {
  const owner = runOwner('lab-owner.ts', ['sigkill']);
  const report = await owner.report;
  t.teardown(async () => {
    // Never leave the escapee behind, whatever happened above.
    if (report.escapee && alive(report.escapee)) process.kill(report.escapee, 'SIGKILL');
    await deleteNetns(report.namespaces);
  });
  owner.child.kill('SIGKILL');
  await owner.exited;
  t.same(present(report.namespaces), report.namespaces, 'nothing could clean up: the namespaces stay');
  const pids = (report.pids ?? []).filter((p): p is number => p !== undefined);
  t.same(await waitForPidsGone(pids, 5000), [], 'processes the lab spawned die with their owner (parent-death signal)');
  t.same(await waitForPidsGone(processesMentioning(report.id), 5000), [], 'so do the agents');
  t.ok(report.escapee && alive(report.escapee), 'a process started behind the lab is still running');

  const result = await gcStaleLabs();
  t.ok(report.namespaces.every((n) => result.namespaces.includes(n)), 'collected the namespaces');
  t.ok(result.killed.includes(report.escapee!), 'killed what still ran inside');
  t.same(present(report.namespaces), []);
  t.same(await waitForPidsGone([report.escapee!], 5000), []);
});

t.test('gcStaleLabs leaves live labs and foreign namespaces alone', async (t) => {
  const foreign = `kplab-foreign-${process.pid}`;
  const live = netnsNameFor(newLabId(), 'decoy');
  await createNetns([foreign, live]);
  t.teardown(() => deleteNetns([foreign, live]));
  const result = await gcStaleLabs();
  t.notOk(result.namespaces.includes(foreign));
  t.notOk(result.namespaces.includes(live));
  t.same(present([foreign, live]), [foreign, live]);
});

// Runs the guest test files (test/vm/guest/) inside the VM lab from the host's `npm test`, so every
// run proves IPVS on a kernel that has it. The guest's TAP results become assertions here.
import { readdirSync } from 'node:fs';
import t from 'tap';
import { guestSuiteTimeoutMs, guestTestDir, prepareVm, runGuestSuite, VmUnavailableError, type PreparedVm } from '../../src/lab/vm/index.js';

const guestTimeoutMs = guestSuiteTimeoutMs();
// Streams the guest's TAP output to stderr as it arrives, for watching a slow run.
const verbose = process.env['KPT_VM_VERBOSE'] === '1';
// The IPVS scenario groups that start the proxy CLI in the guest (ipvs-e2e-*) take several minutes
// each under TCG (the CLI alone needs one to four to load its modules), so CI's run leaves them to
// `npm run test:vm`; ipvs-dataplane covers IPVS mode's data plane with real traffic here.
// KPT_VM_ALL=1 runs the whole folder.
const slowGuestFile = /^ipvs-e2e-/;
const files = process.env['KPT_VM_ALL'] === '1'
  ? []
  : readdirSync(new URL(`../../${guestTestDir}/`, import.meta.url))
      .filter((name) => /\.test\.ts$/.test(name) && !slowGuestFile.test(name))
      .map((name) => `${guestTestDir}/${name}`);

// Room for preparing the kernel on a first run and for waiting while another process's VM finishes.
t.setTimeout(guestTimeoutMs + 10 * 60_000);

let prepared: PreparedVm | undefined;
try {
  prepared = await prepareVm({ log: (line) => t.comment(line) });
} catch (error) {
  if (!(error instanceof VmUnavailableError)) throw error;
  t.plan(0, `the VM lab cannot run here: ${error.message}`);
}

if (prepared) {
  const result = await runGuestSuite(
    {
      files,
      timeoutMs: guestTimeoutMs,
      log: (line) => t.comment(line),
      onOutput: verbose ? (text) => process.stderr.write(text) : undefined,
    },
    prepared,
  );
  const tail = (text: string): string => text.slice(-6000);

  t.comment(
    `kernel ${result.kernelVersion}: boot ${(result.bootMs / 1000).toFixed(1)} s, whole VM run ${(result.durationMs / 1000).toFixed(1)} s`,
  );
  t.equal(result.timedOut, false, `the guest suite ends within ${guestTimeoutMs / 60_000} minutes`, {
    stdout: tail(result.stdout),
  });
  t.equal(result.exitCode, 0, 'tap in the guest exits 0', { stdout: tail(result.stdout), stderr: tail(result.stderr) });

  t.ok(result.files.length > 0, 'the guest ran at least one test file');
  for (const file of result.files) {
    const name = `guest ${file.name}${file.directive ? ` # ${file.directive}` : ''}`;
    if (file.ok) t.pass(name);
    else t.fail(name, { guest: tail(file.block) });
  }

  const totals = result.totals;
  t.ok(totals, 'the guest printed tap totals', { stdout: tail(result.stdout) });
  if (totals) {
    t.ok(totals.pass > 0, `guest assertions passed: ${totals.pass}`);
    t.equal(totals.fail, 0, 'no guest assertion failed');
    t.comment(`guest totals: ${JSON.stringify(totals)}`);
  }
}

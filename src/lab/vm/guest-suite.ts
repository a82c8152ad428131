import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInVm, type PreparedVm, type VmRunOptions, type VmRunResult } from './run-in-vm.js';
import { parseTapTotals, topLevelResults, type TapTotals, type TopLevelResult } from './tap-report.js';

/** The folder of test files that only make sense inside the VM (the host's tap run excludes it). */
export const guestTestDir = 'test/vm/guest';

export interface GuestSuiteOptions extends Pick<VmRunOptions, 'timeoutMs' | 'memoryMiB' | 'cpus' | 'onOutput' | 'onConsole' | 'log' | 'signal'> {
  /** Test files or folders relative to the project root. Default: the whole guest folder. */
  files?: readonly string[];
  /** Extra tap flags, e.g. `--grep=...`. */
  tapArgs?: readonly string[];
  /** The checkout to test. Default: the one this module belongs to. */
  projectRoot?: string;
}

export interface GuestSuiteResult extends VmRunResult {
  /** tap's closing totals in the guest; undefined when tap never got that far. */
  totals: TapTotals | undefined;
  /** One entry per guest test file. */
  files: TopLevelResult[];
}

/** Boots one VM and runs tap over the guest test files in it, with the TAP stream on stdout. */
export async function runGuestSuite(options: GuestSuiteOptions = {}, prepared?: PreparedVm): Promise<GuestSuiteResult> {
  const projectRoot = options.projectRoot ?? defaultProjectRoot();
  const files = options.files?.length ? options.files : [guestTestDir];
  const result = await runInVm(
    {
      // Naming the files bypasses the .taprc exclusion that keeps them out of host runs. Coverage is
      // off: instrumenting under emulation costs more than it tells.
      argv: ['tap', '--reporter=tap', '--disable-coverage', ...(options.tapArgs ?? []), ...files],
      cwd: projectRoot,
      env: { PATH: `${dirname(process.execPath)}:${join(projectRoot, 'node_modules', '.bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
      timeoutMs: options.timeoutMs,
      memoryMiB: options.memoryMiB,
      cpus: options.cpus,
      onOutput: options.onOutput,
      onConsole: options.onConsole,
      log: options.log,
      signal: options.signal,
    },
    prepared,
  );
  return { ...result, totals: parseTapTotals(result.stdout), files: topLevelResults(result.stdout) };
}

/** src/lab/vm (or dist/src/lab/vm) → the checkout's root. */
function defaultProjectRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${join('/', 'dist', 'src')}/`) ? '../../../..' : '../../..';
  return resolve(here, up);
}

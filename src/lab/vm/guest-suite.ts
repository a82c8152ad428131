import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInVm, type PreparedVm, type VmRunOptions, type VmRunResult } from './run-in-vm.js';
import { parseTapTotals, topLevelResults, type TapTotals, type TopLevelResult } from './tap-report.js';

/** The folder of test files that only make sense inside the VM (the host's tap run excludes it). */
export const guestTestDir = 'test/vm/guest';

/**
 * The whole guest suite's budget: KPT_VM_TIMEOUT (seconds) or 30 minutes. A quiet machine runs the
 * suite in a few minutes, but TCG slows down many times over when the host's cores are busy.
 */
export function guestSuiteTimeoutMs(): number {
  const seconds = Number(process.env['KPT_VM_TIMEOUT']);
  return seconds > 0 ? seconds * 1000 : 30 * 60_000;
}

export interface GuestSuiteOptions
  extends Pick<VmRunOptions, 'timeoutMs' | 'memoryMiB' | 'cpus' | 'onOutput' | 'onConsole' | 'log' | 'signal'> {
  /** TypeScript test files or folders, relative to the project root. Default: the whole guest folder. */
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

/**
 * Boots one VM and runs tap over the guest test files in it, with the TAP stream on stdout.
 *
 * The guest runs the files' compiled twins from dist/ (so `npm run build` first): under emulation,
 * loading ts-node and the TypeScript compiler into every test process costs tens of seconds,
 * and compiled files need neither. Source maps still point stack traces at the .ts lines.
 */
export async function runGuestSuite(options: GuestSuiteOptions = {}, prepared?: PreparedVm): Promise<GuestSuiteResult> {
  const projectRoot = options.projectRoot ?? defaultProjectRoot();
  const files = await compiledTestFiles(projectRoot, options.files?.length ? options.files : [guestTestDir]);
  const result = await runInVm(
    {
      // Naming the files bypasses the .taprc exclusions (dist/, the guest folder) that keep them out
      // of host runs. Coverage is off: instrumenting under emulation costs more than it tells.
      argv: ['tap', '--reporter=tap', '--disable-coverage', ...(options.tapArgs ?? []), ...files],
      cwd: projectRoot,
      env: {
        PATH: `${dirname(process.execPath)}:${join(projectRoot, 'node_modules', '.bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        // Keeps tap's TypeScript plugin from loading ts-node into test processes that run plain JS.
        TAP_TYPE_STRIP_ONLY: '1',
      },
      timeoutMs: options.timeoutMs ?? guestSuiteTimeoutMs(),
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

/**
 * The dist/ twin of every .ts test file named (folders are walked), checked to exist and be at
 * least as new as its source, so the guest never runs a stale or deleted test.
 */
export async function compiledTestFiles(projectRoot: string, selections: readonly string[]): Promise<string[]> {
  const sources: string[] = [];
  for (const selection of selections) {
    const path = resolve(projectRoot, selection);
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new Error(`no such guest test file or folder: ${selection}`);
    if (info.isDirectory()) sources.push(...(await typescriptFilesUnder(path)));
    else if (isTypeScriptSource(path)) sources.push(path);
    else throw new Error(`guest tests are TypeScript sources (their dist/ twin runs): ${selection}`);
  }
  const compiled: string[] = [];
  for (const source of [...new Set(sources)].sort()) {
    const fromRoot = relative(projectRoot, source);
    const twin = join('dist', fromRoot.replace(/\.(m|c)?ts$/, (_, kind: string | undefined) => `.${kind ?? ''}js`));
    const [sourceInfo, twinInfo] = await Promise.all([stat(source), stat(join(projectRoot, twin)).catch(() => undefined)]);
    if (!twinInfo || twinInfo.mtimeMs < sourceInfo.mtimeMs) {
      throw new Error(`${twin} is missing or older than ${fromRoot}; run npm run build first`);
    }
    compiled.push(twin);
  }
  if (compiled.length === 0) throw new Error(`no guest test files in ${selections.join(', ')}`);
  return compiled;
}

async function typescriptFilesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await typescriptFilesUnder(path)));
    else if (isTypeScriptSource(path)) found.push(path);
  }
  return found;
}

function isTypeScriptSource(path: string): boolean {
  return /\.(m|c)?ts$/.test(path) && !/\.d\.(m|c)?ts$/.test(path);
}

/** The nearest folder above this module (in src/ or dist/src/) that holds a package.json. */
function defaultProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root above the VM lab module');
    dir = parent;
  }
  return dir;
}

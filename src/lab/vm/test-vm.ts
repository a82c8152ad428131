#!/usr/bin/env node
/**
 * `npm run test:vm [-- [--timeout SECONDS] [--grep PATTERN]... [--console] [files...]]`: boots one
 * VM, runs tap over the guest test files in it, streams the guest's TAP output, and exits with the
 * guest's status. The timeout defaults to KPT_VM_TIMEOUT or 30 minutes (guestSuiteTimeoutMs).
 */
import { parseArgs } from 'node:util';
import { VmUnavailableError } from './errors.js';
import { runGuestSuite } from './guest-suite.js';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      timeout: { type: 'string' },
      console: { type: 'boolean' },
      grep: { type: 'string', multiple: true },
    },
  });
  const timeoutSeconds = values.timeout ? Number(values.timeout) : undefined;
  if (timeoutSeconds !== undefined && !(timeoutSeconds > 0)) throw new Error(`--timeout wants seconds, got ${values.timeout}`);
  const result = await runGuestSuite({
    files: positionals,
    tapArgs: (values.grep ?? []).map((pattern) => `--grep=${pattern}`),
    timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000,
    onOutput: (text, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(text),
    onConsole: values.console ? (text) => process.stderr.write(text) : undefined,
  });

  const totals = result.totals;
  const summary = totals
    ? `${totals.pass} passed, ${totals.fail} failed, ${totals.skip} skipped, ${totals.todo} todo in ${result.files.length} guest file(s)`
    : 'tap reported no totals';
  process.stdout.write(
    `# vm: ${summary}; kernel ${result.kernelVersion}, boot ${(result.bootMs / 1000).toFixed(1)} s, total ${(result.durationMs / 1000).toFixed(1)} s\n`,
  );
  if (result.timedOut) {
    process.stderr.write('test:vm: the VM timed out\n');
    return 124;
  }
  if (result.exitCode !== 0) return result.exitCode ?? 1;
  // A zero exit with nothing run would be a green light for nothing.
  if (!totals || totals.pass === 0 || totals.fail > 0) return 1;
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const unavailable = error instanceof VmUnavailableError ? ' (the VM cannot run on this machine)' : '';
    process.stderr.write(`test:vm: ${error instanceof Error ? error.message : String(error)}${unavailable}\n`);
    process.exitCode = 125;
  },
);

#!/usr/bin/env node
/**
 * Runs one command in the VM lab and exits with its exit code:
 *   node dist/src/lab/vm/vm-run.js [--cwd DIR] [--env NAME=VALUE]... [--timeout SECONDS]
 *                                  [--memory MIB] [--cpus N] [--console] -- <command> [args...]
 * The command's stdout and stderr arrive on ours as they are written. Exit 124 means the timeout
 * struck; 125 that the VM itself failed (details on stderr).
 */
import { parseArgs } from 'node:util';
import { VmUnavailableError } from './errors.js';
import { runInVm } from './run-in-vm.js';

const usage = 'usage: vm-run [--cwd DIR] [--env NAME=VALUE]... [--timeout SECONDS] [--memory MIB] [--cpus N] [--console] -- <command> [args...]';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      cwd: { type: 'string' },
      env: { type: 'string', multiple: true },
      timeout: { type: 'string' },
      memory: { type: 'string' },
      cpus: { type: 'string' },
      console: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stderr.write(`${usage}\n`);
    return values.help ? 0 : 2;
  }
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new Error(`--env wants NAME=VALUE, got ${pair}`);
    env[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  const result = await runInVm({
    argv: positionals,
    cwd: values.cwd,
    env,
    timeoutMs: values.timeout ? positiveNumber('--timeout', values.timeout) * 1000 : undefined,
    memoryMiB: values.memory ? positiveNumber('--memory', values.memory) : undefined,
    cpus: values.cpus ? positiveNumber('--cpus', values.cpus) : undefined,
    onOutput: (text, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(text),
    onConsole: values.console ? (text) => process.stderr.write(text) : undefined,
  });
  const ending = result.timedOut
    ? 'timed out'
    : result.signal
      ? `killed by ${result.signal}`
      : `exit ${result.exitCode}`;
  process.stderr.write(
    `vm: kernel ${result.kernelVersion}, boot ${seconds(result.bootMs)}, total ${seconds(result.durationMs)}, ${ending}\n`,
  );
  if (result.timedOut) return 124;
  return result.exitCode ?? 125;
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${flag} wants a positive number, got ${text}`);
  return value;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const unavailable = error instanceof VmUnavailableError ? ' (the VM cannot run on this machine)' : '';
    process.stderr.write(`vm-run: ${error instanceof Error ? error.message : String(error)}${unavailable}\n`);
    process.exitCode = 125;
  },
);

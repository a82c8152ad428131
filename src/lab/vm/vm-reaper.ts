import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Makes sure no qemu and no temporary folder outlives the process that started them: on normal
 * exit, on an uncaught error, and on SIGINT/SIGTERM/SIGHUP. (A SIGKILL of this process is covered
 * by qemu's parent-death signal, set where it is spawned.)
 */
interface LiveVm {
  qemu: ChildProcess;
  tempDir: string;
}

const live = new Set<LiveVm>();
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Registers a running VM; the returned function unregisters it once it has been cleaned up. */
export function reapOnExit(vm: LiveVm): () => void {
  if (live.size === 0) install();
  live.add(vm);
  return () => {
    live.delete(vm);
    if (live.size === 0) uninstall();
  };
}

function reapAll(): void {
  for (const vm of live) {
    if (vm.qemu.exitCode === null && vm.qemu.signalCode === null) vm.qemu.kill('SIGKILL');
    rmSync(vm.tempDir, { recursive: true, force: true });
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  reapAll();
  uninstall();
  // Listening removed Node's default "die on this signal". Send it again now that we are gone:
  // with nobody else listening the process dies as it would have; signal-exit (tap's test
  // processes) stands back while it sees a foreign listener like ours, and acts on the repeat.
  process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', reapAll);
  for (const signal of signals) process.on(signal, onSignal);
}

function uninstall(): void {
  process.off('exit', reapAll);
  for (const signal of signals) process.off(signal, onSignal);
}

/**
 * Last-resort teardown of live labs when the process ends without `lab.destroy()`: normal exit,
 * SIGINT/SIGTERM/SIGHUP, an uncaught exception or unhandled rejection. Everything here is synchronous,
 * because nothing asynchronous runs once the process is exiting.
 */

export interface SyncDestroyable {
  destroySync(): void;
}

const live = new Set<SyncDestroyable>();
let installed = false;

function destroyAll(): void {
  for (const lab of [...live]) {
    live.delete(lab);
    try {
      lab.destroySync();
    } catch (e) {
      process.stderr.write(`lab: cleanup failed: ${(e as Error).message}\n`);
    }
  }
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function onSignal(signal: NodeJS.Signals): void {
  destroyAll();
  // Adding a listener disabled the default action. If nobody else handles the signal, die of it as
  // we would have without us (exit status 128+n, as the parent expects).
  if (process.listenerCount(signal) === 1) {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', destroyAll);
  // A fatal exception skips 'exit'. The monitor observes without changing whether it is fatal; when
  // someone handles uncaught exceptions (a test runner), the process may go on using its labs.
  process.on('uncaughtExceptionMonitor', () => {
    if (process.listenerCount('uncaughtException') === 0) destroyAll();
  });
  for (const s of SIGNALS) process.on(s, onSignal);
}

export function registerForExitCleanup(lab: SyncDestroyable): void {
  install();
  live.add(lab);
}

export function unregisterFromExitCleanup(lab: SyncDestroyable): void {
  live.delete(lab);
}

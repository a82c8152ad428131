/**
 * Last-resort teardown of live labs when the process ends without `lab.destroy()`: normal exit,
 * process.exit(), an uncaught exception or unhandled rejection (both still emit 'exit'), and the
 * signals that would kill it (SIGINT, SIGTERM, SIGHUP…). Everything here is synchronous, because
 * nothing asynchronous runs once the process is exiting.
 *
 * Signals go through signal-exit rather than our own process.on(signal): a plain listener takes the
 * default action away, and when a test runner has its own signal-exit hooks, each side waits for
 * the other to re-raise the signal and the process never dies. signal-exit counts its listeners
 * across copies and re-raises once all have run. An application handler that catches the signal
 * (graceful shutdown) keeps it; the lab is then removed when that handler exits the process.
 *
 * The exit itself is watched with a plain 'exit' listener as well: inside tap test processes
 * signal-exit's own exit hook never fires (its process.emit patch gets replaced), measured here.
 */
import { onExit } from 'signal-exit';

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

export function registerForExitCleanup(lab: SyncDestroyable): void {
  if (!installed) {
    installed = true;
    process.on('exit', destroyAll);
    onExit(() => {
      destroyAll();
    });
  }
  live.add(lab);
}

export function unregisterFromExitCleanup(lab: SyncDestroyable): void {
  live.delete(lab);
}

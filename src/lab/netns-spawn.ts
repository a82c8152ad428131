/** Starting a process inside a named network namespace, tied to the life of this process. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export interface NetnsSpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group, so the whole tree (a proxy and its iptables-restore…) can be signalled. */
  detached?: boolean;
}

/**
 * The argv that runs `argv` inside `netns`. `ip netns exec` (not nsenter) so the process also sees
 * the namespace's own /sys, as tools that read /sys/class/net expect. setpriv's parent-death signal
 * kills it if this process dies without cleaning up (SIGKILL, OOM): `ip` and setpriv exec in place,
 * so the parent that counts is this process.
 */
export function netnsArgv(netns: string, argv: string[], options: { tieToParent?: boolean } = {}): string[] {
  const tie = options.tieToParent ?? true;
  return ['ip', 'netns', 'exec', netns, ...(tie && SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--'] : []), ...argv];
}

export function spawnInNetns(netns: string, argv: string[], options: NetnsSpawnOptions = {}): ChildProcessWithoutNullStreams {
  const [file, ...args] = netnsArgv(netns, argv);
  return spawn(file!, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    detached: options.detached ?? false,
  });
}

/** Stops a child process and its pipes from holding the event loop open. */
export function unrefChild(child: ChildProcessWithoutNullStreams): void {
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as Socket).unref();
}

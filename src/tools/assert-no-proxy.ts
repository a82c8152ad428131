#!/usr/bin/env node
/**
 * First step of the migration and rollback Jobs: refuse to clean a node on which a proxy still
 * runs, because it would program its rules again right after the cleanup. A proxy (kube-proxy
 * or ours) answers on its healthz port 10256 and its metrics port 10249 on 127.0.0.1.
 *   assert-no-proxy [--host=127.0.0.1] [--ports=10256,10249] [--timeout=2000]
 * Exit status: 0 nothing listens, 1 something does, 2 bad flags.
 */
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { isMain } from './is-main.js';

/** Resolves true when a TCP connection to host:port is accepted within timeoutMs. */
export function portAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answered: boolean): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function assertNoProxy(argv: readonly string[], out: (line: string) => void): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { host: { type: 'string', default: '127.0.0.1' }, ports: { type: 'string', default: '10256,10249' }, timeout: { type: 'string', default: '2000' } },
    }));
  } catch (err) {
    out(`assert-no-proxy: ${(err as Error).message}`);
    return 2;
  }
  const ports = values.ports.split(',').map((p) => Number(p.trim()));
  const timeoutMs = Number(values.timeout);
  if (ports.some((p) => !Number.isInteger(p) || p <= 0 || p > 65535) || !(timeoutMs > 0)) {
    out('assert-no-proxy: --ports must be TCP ports and --timeout milliseconds');
    return 2;
  }
  const busy: number[] = [];
  for (const port of ports) if (await portAnswers(values.host, port, timeoutMs)) busy.push(port);
  if (busy.length > 0) {
    out(`a proxy still runs on this node: ${busy.map((p) => `${values.host}:${p}`).join(', ')} answers. Delete its DaemonSet (and wait for its pod to go) before cleaning up.`);
    return 1;
  }
  out(`no proxy answers on ${values.host} ports ${ports.join(', ')}: safe to clean up`);
  return 0;
}

if (isMain(import.meta.url)) {
  process.exitCode = await assertNoProxy(process.argv.slice(2), (line) => console.log(line));
}

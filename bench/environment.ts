/** Where the benchmark ran: printed with every table, since the figures only compare within one machine. */
import { spawnSync } from 'node:child_process';
import { cpus, hostname, release } from 'node:os';
import { isNativeNetlinkAvailable, probeIpvs } from '../src/kernel/netlink.js';
import type { BenchEnvironment } from './types.js';

function firstLine(argv: readonly string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0]! : `${argv[0]} unavailable`;
}

export async function probeIpvsSafely(): Promise<boolean> {
  if (!isNativeNetlinkAvailable()) return false;
  try {
    return (await probeIpvs()).available;
  } catch {
    return false;
  }
}

export async function describeEnvironment(): Promise<BenchEnvironment> {
  return {
    date: new Date().toISOString(),
    host: hostname(),
    kernel: release(),
    cpus: cpus().length,
    node: process.version,
    iptablesBackend: firstLine(['iptables', '-V']),
    nftVersion: firstLine(['nft', '-v']),
    ipvs: await probeIpvsSafely(),
    inVm: process.env.KPT_VM === '1',
  };
}

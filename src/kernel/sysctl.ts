import { readFile, writeFile } from 'node:fs/promises';
import { runChecked, type KernelTarget } from './exec.js';

/** `net/ipv4/ip_forward` style names, as upstream writes them. */
function procPath(name: string): string {
  return `/proc/sys/${name.replace(/\./g, '/')}`;
}

export async function readSysctl(name: string, target: KernelTarget = {}): Promise<string> {
  if (target.netns) {
    const r = await runChecked(['sysctl', '-n', name.replace(/\//g, '.')], target);
    return r.stdout.trim();
  }
  return (await readFile(procPath(name), 'utf8')).trim();
}

/** Writes a sysctl only when its value differs; per-netns sysctls land in the target namespace. */
export async function writeSysctl(name: string, value: string | number, target: KernelTarget = {}): Promise<boolean> {
  const want = String(value);
  let current: string | undefined;
  try {
    current = await readSysctl(name, target);
  } catch {
    current = undefined;
  }
  if (current === want) return false;
  if (target.netns) await runChecked(['sysctl', '-qw', `${name.replace(/\//g, '.')}=${want}`], target);
  else await writeFile(procPath(name), want);
  return true;
}

/**
 * Who owns a lab namespace, written into its name: `kplab-<pid>-<start>-<lab>-<member>`, where
 * <start> is the owner's start time (clock ticks since boot, base 36). The pid alone would not do:
 * after a crash the pid can be reused by an unrelated process, and its labs would never be collected.
 */
import { readFileSync } from 'node:fs';

export const NETNS_PREFIX = 'kplab';
export const NETNS_DIR = '/run/netns';

const NETNS_NAME = new RegExp(`^${NETNS_PREFIX}-(\\d+)-([0-9a-z]+)-(\\d+)-(.+)$`);

export interface LabNetnsName {
  /** `kplab-<pid>-<start>-<lab>`: everything that belongs to one lab shares it. */
  labId: string;
  ownerPid: number;
  ownerStart: string;
  member: string;
}

/** The start time of a process as /proc/<pid>/stat field 22, or undefined when it is gone. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[19];
  return start === undefined ? undefined : BigInt(start).toString(36);
}

let labCounter = 0;

export function newLabId(): string {
  const start = processStartTime(process.pid);
  if (!start) throw new Error('lab: cannot read this process start time from /proc');
  labCounter += 1;
  return `${NETNS_PREFIX}-${process.pid}-${start}-${labCounter}`;
}

export function netnsNameFor(labId: string, member: string): string {
  return `${labId}-${member}`;
}

export function parseNetnsName(name: string): LabNetnsName | undefined {
  const m = NETNS_NAME.exec(name);
  if (!m) return undefined;
  const [, pid, start, lab, member] = m;
  return { labId: `${NETNS_PREFIX}-${pid}-${start}-${lab}`, ownerPid: Number(pid), ownerStart: start!, member: member! };
}

export function isOwnerAlive(owner: Pick<LabNetnsName, 'ownerPid' | 'ownerStart'>): boolean {
  return processStartTime(owner.ownerPid) === owner.ownerStart;
}

import type { IPFamily } from '../../model/ip.js';
import { createArguments, IPSET_SPECS } from './ipset-specs.js';
import { ipsetName } from './naming.js';

/** What `ipset save` says about one set. */
export interface KernelIpset {
  readonly type: string;
  readonly entries: ReadonlySet<string>;
}

/** Sets by name from `ipset save` output (`create NAME TYPE ...` then `add NAME ENTRY` lines). */
export function parseIpsetSave(text: string): Map<string, KernelIpset> {
  const found = new Map<string, { type: string; entries: Set<string> }>();
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'create' && words[1] && words[2]) found.set(words[1], { type: words[2], entries: new Set() });
    else if (words[0] === 'add' && words[1] && words[2]) found.get(words[1])?.entries.add(words[2]);
  }
  return found;
}

export interface IpsetRestorePlan {
  /** `ipset restore -exist` input; '' when the kernel already holds exactly the desired sets. */
  readonly script: string;
  readonly created: number;
  readonly added: number;
  readonly deleted: number;
}

/**
 * One `ipset restore -exist` for every IPVS set of a family: creates the missing sets (`-exist`
 * keeps existing ones), deletes the entries the kernel has and the desired state lacks, and adds
 * the missing ones. Never a flush: a set is never empty for a moment while rules match on it.
 */
export function planIpsetRestore(
  family: IPFamily,
  desired: ReadonlyMap<string, ReadonlySet<string>>,
  kernel: ReadonlyMap<string, KernelIpset>,
): IpsetRestorePlan {
  const lines: string[] = [];
  let created = 0;
  let added = 0;
  let deleted = 0;
  for (const spec of IPSET_SPECS) {
    const name = ipsetName(spec.base, family);
    const want = desired.get(spec.base) ?? new Set<string>();
    const have = kernel.get(name);
    if (!have) {
      lines.push(`create ${name} ${createArguments(spec, family).join(' ')}`);
      created++;
    }
    const current = have?.entries ?? new Set<string>();
    for (const entry of current) {
      if (!want.has(entry)) {
        lines.push(`del ${name} ${entry}`);
        deleted++;
      }
    }
    for (const entry of want) {
      if (!current.has(entry)) {
        lines.push(`add ${name} ${entry}`);
        added++;
      }
    }
  }
  return { script: lines.length ? `${lines.join('\n')}\n` : '', created, added, deleted };
}

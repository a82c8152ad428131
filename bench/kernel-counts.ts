/**
 * What a mode left in its namespace, counted with the administrators' own tools (so the counts
 * do not trust our listings): iptables-save lines, nft's JSON listing, ipvsadm's table.
 */
import { runChecked } from '../src/kernel/exec.js';
import type { KernelCounts } from './types.js';

/** `-A` lines (rules) and `:` lines (chains) of iptables-save, all tables. */
export function countIptablesSave(save: string): KernelCounts {
  let rules = 0;
  let chains = 0;
  for (const line of save.split('\n')) {
    if (line.startsWith('-A ')) rules++;
    else if (line.startsWith(':')) chains++;
  }
  return { rules, chains };
}

interface NftListing {
  nftables?: Array<Record<string, { elem?: unknown[] } | undefined>>;
}

/** Chains, rules, sets/maps and their elements in `nft -j list table` output. */
export function countNftJson(listing: NftListing): KernelCounts {
  let chains = 0;
  let rules = 0;
  let sets = 0;
  let elements = 0;
  for (const entry of listing.nftables ?? []) {
    if (entry.chain) chains++;
    else if (entry.rule) rules++;
    else if (entry.set || entry.map) {
      sets++;
      elements += (entry.set ?? entry.map)?.elem?.length ?? 0;
    }
  }
  return { chains, rules, sets, elements };
}

/** Virtual servers (protocol lines) and real servers ("->" lines) of `ipvsadm -Ln`. */
export function countIpvsadm(text: string): KernelCounts {
  let virtualServers = 0;
  let realServers = 0;
  for (const line of text.split('\n')) {
    if (/^(TCP|UDP|SCTP)\s/.test(line)) virtualServers++;
    else if (/^\s+->\s/.test(line) && !line.includes('RemoteAddress')) realServers++;
  }
  return { virtualServers, realServers };
}

export async function countIptables(netns: string): Promise<KernelCounts> {
  return countIptablesSave((await runChecked(['iptables-save'], { netns })).stdout);
}

export async function countNftables(netns: string): Promise<KernelCounts> {
  const r = await runChecked(['nft', '-j', 'list', 'table', 'ip', 'kube-proxy'], { netns });
  return countNftJson(JSON.parse(r.stdout) as NftListing);
}

export async function countIpvs(netns: string): Promise<KernelCounts> {
  return countIpvsadm((await runChecked(['ipvsadm', '-Ln'], { netns })).stdout);
}

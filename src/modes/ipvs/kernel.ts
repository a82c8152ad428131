import { networkInterfaces, release } from 'node:os';
import { run, runChecked, type KernelTarget } from '../../kernel/exec.js';
import { Iptables, type IptablesBackend, type IptablesTable } from '../../kernel/iptables.js';
import {
  addLink,
  applyAddresses,
  applyIpvs,
  getLink,
  listAddresses,
  listIpvsDestinations,
  listIpvsServices,
  type AddressInfo,
  type AddressOperation,
  type BatchResults,
  type IpvsDestinationInfo,
  type IpvsOperation,
  type IpvsServiceInfo,
  type IpvsServiceKey,
  type IpvsTimeouts,
} from '../../kernel/netlink.js';
import { writeSysctl } from '../../kernel/sysctl.js';
import type { IPFamily } from '../../model/ip.js';
import { describeIpvsOperation } from './describe.js';
import { KUBE_IPVS_DEVICE } from './naming.js';

/** Everything IPVS mode asks of the kernel; the real one uses netlink and the tools, --dry-run prints. */
export interface IpvsKernel {
  listServices(): Promise<IpvsServiceInfo[]>;
  listDestinations(service: IpvsServiceKey): Promise<IpvsDestinationInfo[]>;
  applyIpvs(ops: readonly IpvsOperation[]): Promise<BatchResults>;
  setTimeouts(timeouts: IpvsTimeouts): Promise<void>;
  /** Creates kube-ipvs0 when missing; resolves with its interface index. */
  ensureDummyDevice(): Promise<number | undefined>;
  /** Every address of the family on every link (kube-ipvs0 included). */
  listAddresses(family: IPFamily): Promise<AddressInfo[]>;
  applyAddresses(ops: readonly AddressOperation[]): Promise<BatchResults>;
  ipsetSave(): Promise<string>;
  ipsetRestore(script: string): Promise<void>;
  iptablesRestore(text: string): Promise<void>;
  ensureChain(table: IptablesTable, chain: string): Promise<void>;
  ensureRulePrepended(table: IptablesTable, chain: string, args: readonly string[]): Promise<void>;
  writeSysctl(name: string, value: number): Promise<void>;
  kernelRelease(): string;
}

export function realIpvsKernel(family: IPFamily, backend: IptablesBackend = 'default', target: KernelTarget = {}): IpvsKernel {
  const ipt = new Iptables(family, target, backend);
  const netns = target.netns === undefined ? {} : { netns: target.netns };
  return {
    listServices: () => listIpvsServices(netns),
    listDestinations: (service) => listIpvsDestinations(service, netns),
    applyIpvs: (ops) => applyIpvs(ops, netns),
    setTimeouts: async (timeouts) => {
      const r = await applyIpvs([{ op: 'setTimeouts', timeouts }], netns);
      const failure = r.results.find((x) => !x.ok);
      if (failure && !failure.ok) throw new Error(`cannot set IPVS timeouts: ${failure.code} ${failure.message}`);
    },
    ensureDummyDevice: async () => {
      const existing = await getLink(KUBE_IPVS_DEVICE, netns);
      if (existing) return existing.index;
      try {
        await addLink({ name: KUBE_IPVS_DEVICE, kind: 'dummy' }, netns);
      } catch (err) {
        // Another family's proxier may have created it a moment ago.
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
      }
      return (await getLink(KUBE_IPVS_DEVICE, netns))?.index;
    },
    listAddresses: (f) => listAddresses({ ...netns, family: f === 'IPv4' ? 'ipv4' : 'ipv6' }),
    applyAddresses: (ops) => applyAddresses(ops, netns),
    ipsetSave: async () => (await runChecked(['ipset', 'save'], target)).stdout,
    ipsetRestore: async (script) => {
      const r = await run(['ipset', 'restore', '-exist'], { ...target, input: script });
      if (r.code !== 0) throw new Error(`ipset restore failed (exit ${r.code}): ${r.stderr.trim()}`);
    },
    iptablesRestore: (text) => ipt.restore(text),
    ensureChain: (table, chain) => ipt.ensureChain(table, chain),
    ensureRulePrepended: async (table, chain, args) => {
      await ipt.ensureRulePrepended(table, chain, args);
    },
    writeSysctl: async (name, value) => {
      await writeSysctl(name, value, target);
    },
    kernelRelease: () => release(),
  };
}

/**
 * --dry-run: an empty kernel that prints what a first full sync would do, as the commands an
 * operator would type (ipvsadm, ip addr, ipset restore, iptables-restore), and changes nothing.
 */
export function dryRunIpvsKernel(family: IPFamily, write: (text: string) => void): IpvsKernel {
  const tool = family === 'IPv4' ? 'iptables' : 'ip6tables';
  const allOk = (n: number): BatchResults => ({ results: Array.from({ length: n }, () => ({ ok: true as const })), sendmsgCalls: 0 });
  return {
    listServices: async () => [],
    listDestinations: async () => [],
    applyIpvs: async (ops) => {
      if (ops.length) write(`# IPVS (netlink batch of ${ops.length}):\n${ops.map((o) => `${describeIpvsOperation(o)}\n`).join('')}`);
      return allOk(ops.length);
    },
    setTimeouts: async (t) => write(`# ipvsadm --set ${t.tcp ?? 0} ${t.tcpFin ?? 0} ${t.udp ?? 0}\n`),
    ensureDummyDevice: async () => {
      write(`# ip link add ${KUBE_IPVS_DEVICE} type dummy\n`);
      return undefined;
    },
    // The node's own addresses, so the printed NodePort virtual servers are the ones a sync would make.
    listAddresses: async (f) =>
      Object.values(networkInterfaces())
        .flat()
        .filter((a) => a !== undefined && (a.family === 'IPv4') === (f === 'IPv4'))
        .map((a) => ({ index: 0, family: f === 'IPv4' ? 2 : 10, address: a!.address.split('%')[0]!, prefixLen: 0, scope: 0, flags: 0 })),
    applyAddresses: async (ops) => {
      for (const o of ops) write(`# ip addr ${o.op === 'add' ? 'add' : 'del'} ${o.address}/${o.prefixLen} dev ${o.link}\n`);
      return allOk(ops.length);
    },
    ipsetSave: async () => '',
    ipsetRestore: async (script) => write(`# ipset restore -exist <<EOF\n${script}# EOF\n`),
    iptablesRestore: async (text) => write(`# ${tool}-restore --noflush --counters <<EOF\n${text}# EOF\n`),
    ensureChain: async () => {},
    ensureRulePrepended: async (table, chain, args) => {
      write(`# ${tool} -t ${table} -I ${chain} ${args.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}\n`);
    },
    writeSysctl: async (name, value) => write(`# sysctl ${name.replace(/\//g, '.')}=${value}\n`),
    kernelRelease: () => release(),
  };
}

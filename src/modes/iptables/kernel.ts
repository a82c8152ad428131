import { Iptables, type IptablesBackend, type IptablesTable } from '../../kernel/iptables.js';
import type { KernelTarget } from '../../kernel/exec.js';
import { writeSysctl } from '../../kernel/sysctl.js';
import type { IPFamily } from '../../model/ip.js';
import type { IptablesKernel } from './proxier.js';

export function realIptablesKernel(family: IPFamily, target: KernelTarget = {}, backend: IptablesBackend = 'default'): IptablesKernel {
  const ipt = new Iptables(family, target, backend);
  return {
    restore: (text) => ipt.restore(text),
    save: (table) => ipt.save(table),
    chainExists: (table, chain) => ipt.chainExists(table, chain),
    ensureChain: (table, chain) => ipt.ensureChain(table, chain),
    ensureRulePrepended: (table, chain, rule) => ipt.ensureRulePrepended(table, chain, rule),
    setRouteLocalnet: async () => {
      await writeSysctl('net/ipv4/conf/all/route_localnet', 1, target);
    },
  };
}

/**
 * --dry-run: prints each restore input (and each rule it would insert) and changes nothing. It
 * reports an empty kernel, so the output is what a first full sync would write.
 */
export function dryRunIptablesKernel(family: IPFamily, write: (text: string) => void): IptablesKernel {
  const tool = family === 'IPv4' ? 'iptables' : 'ip6tables';
  return {
    restore: async (text) => write(`# ${tool}-restore --noflush --counters <<EOF\n${text}# EOF\n`),
    save: async (table: IptablesTable) => `*${table}\nCOMMIT\n`,
    chainExists: async () => true,
    ensureChain: async () => {},
    ensureRulePrepended: async (table, chain, rule) => {
      write(`# ${tool} -t ${table} -I ${chain} ${rule.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}\n`);
      return true;
    },
    setRouteLocalnet: async () => write('# sysctl net.ipv4.conf.all.route_localnet=1\n'),
  };
}

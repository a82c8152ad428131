import type { ModeChecks } from './scenarios.js';

/** iptables mode leaves KUBE-SERVICES (or any KUBE-SVC/SEP chain) in node1 while active. */
export const iptablesChecks: ModeChecks = {
  async rulesPresent(w) {
    const save = await w.lab.exec('node1', ['iptables-save'], { allowFailure: true });
    const save6 = await w.lab.exec('node1', ['ip6tables-save'], { allowFailure: true });
    return /^:KUBE-(SERVICES|SVC-|SEP-|NODEPORTS|POSTROUTING)/m.test(save.stdout + save6.stdout);
  },
};

/** IPVS mode leaves virtual servers, kube-ipvs0, its ipsets or its chains in node1 while active. */
export const ipvsChecks: ModeChecks = {
  async rulesPresent(w) {
    const run = (argv: string[]) => w.lab.exec('node1', argv, { allowFailure: true });
    const [ipvs, link, sets, save, save6] = await Promise.all([
      run(['ipvsadm', '-Ln']),
      run(['ip', 'link', 'show', 'kube-ipvs0']),
      run(['ipset', 'list', '-n']),
      run(['iptables-save']),
      run(['ip6tables-save']),
    ]);
    return (
      /^(TCP|UDP|SCTP)\s/m.test(ipvs.stdout) ||
      link.code === 0 ||
      /^KUBE-/m.test(sets.stdout) ||
      /^:KUBE-(SERVICES|POSTROUTING|NODE-PORT|LOAD-BALANCER|MARK-MASQ|IPVS-FILTER|FORWARD)/m.test(save.stdout + save6.stdout)
    );
  },
  hostCannotReachRemoteEndpointOfLocalPolicy: true,
  emptyVirtualServerRefuses: true,
};

/** nftables mode's rules are its two tables; after --cleanup neither may exist in node1. */
export const nftablesChecks: ModeChecks = {
  async rulesPresent(w) {
    const r = await w.lab.exec('node1', ['nft', 'list', 'tables'], { allowFailure: true });
    return /\btable ip6? kube-proxy\b/.test(r.stdout);
  },
};

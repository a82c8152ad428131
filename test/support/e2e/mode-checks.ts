import type { ModeChecks } from './scenarios.js';

/** iptables mode leaves KUBE-SERVICES (or any KUBE-SVC/SEP chain) in node1 while active. */
export const iptablesChecks: ModeChecks = {
  async rulesPresent(w) {
    const save = await w.lab.exec('node1', ['iptables-save'], { allowFailure: true });
    const save6 = await w.lab.exec('node1', ['ip6tables-save'], { allowFailure: true });
    return /^:KUBE-(SERVICES|SVC-|SEP-|NODEPORTS|POSTROUTING)/m.test(save.stdout + save6.stdout);
  },
};

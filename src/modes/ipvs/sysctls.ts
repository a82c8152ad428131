/** A sysctl IPVS mode sets at startup. */
export interface SysctlSetting {
  readonly name: string;
  readonly value: number;
}

/** [major, minor] of a kernel release such as "6.1.0-57-amd64"; undefined when unreadable. */
export function parseKernelVersion(release: string): readonly [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function atLeast(v: readonly [number, number], major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

/**
 * Upstream's NewProxier sysctls, in its order: IPVS traffic through conntrack (so iptables SNAT
 * works), conn_reuse_mode=0 only on kernels 4.1..5.8 (5.9 fixed the reuse delay it works around),
 * expiring connections to removed or quiescent real servers, forwarding, and strict ARP when
 * asked (the node must not answer ARP for VIPs on kube-ipvs0, e.g. next to MetalLB L2).
 */
export function ipvsSysctls(kernelRelease: string, strictARP: boolean): { settings: SysctlSetting[]; notes: string[] } {
  const settings: SysctlSetting[] = [{ name: 'net/ipv4/vs/conntrack', value: 1 }];
  const notes: string[] = [];
  const version = parseKernelVersion(kernelRelease);
  if (!version || !atLeast(version, 4, 1)) notes.push(`kernel ${kernelRelease} is older than 4.1: net/ipv4/vs/conn_reuse_mode is left alone`);
  else if (atLeast(version, 5, 9)) notes.push('net/ipv4/vs/conn_reuse_mode left as is (kernel >= 5.9)');
  else settings.push({ name: 'net/ipv4/vs/conn_reuse_mode', value: 0 });
  settings.push(
    { name: 'net/ipv4/vs/expire_nodest_conn', value: 1 },
    { name: 'net/ipv4/vs/expire_quiescent_template', value: 1 },
    { name: 'net/ipv4/ip_forward', value: 1 },
  );
  if (strictARP) settings.push({ name: 'net/ipv4/conf/all/arp_ignore', value: 1 }, { name: 'net/ipv4/conf/all/arp_announce', value: 2 });
  return { settings, notes };
}

import type { LabCluster } from '../lab/cluster.js';
import type { ProxyMode } from '../sync/proxier.js';

/**
 * The walkthrough kube-proxy users know: `iptables -t nat -L KUBE-SERVICES` → the service's
 * KUBE-SVC chain → its KUBE-SEP chains → DNAT. For the other modes, their own views.
 */
export async function showServicePath(cluster: LabCluster, mode: ProxyMode, clusterIP: string): Promise<string[]> {
  if (mode === 'nftables') return nftablesPath(cluster, clusterIP);
  if (mode === 'ipvs') return ipvsPath(cluster, clusterIP);
  return iptablesPath(cluster, clusterIP);
}

async function listChain(cluster: LabCluster, chain: string): Promise<string[]> {
  const r = await cluster.lab.exec('node1', ['iptables', '-t', 'nat', '-L', chain, '-n'], { allowFailure: true });
  return r.stdout.trimEnd().split('\n');
}

async function iptablesPath(cluster: LabCluster, clusterIP: string): Promise<string[]> {
  const out: string[] = ['$ iptables -t nat -L KUBE-SERVICES -n   (the rule for our ClusterIP)'];
  const services = await listChain(cluster, 'KUBE-SERVICES');
  out.push(...services.slice(0, 2));
  const entry = services.find((l) => l.includes(clusterIP));
  if (!entry) return [...out, `(no rule for ${clusterIP})`];
  out.push(entry);
  const svcChain = entry.split(/\s+/)[0]!;
  out.push('', `$ iptables -t nat -L ${svcChain} -n   (masquerade off-cluster sources, then pick an endpoint)`);
  const svc = await listChain(cluster, svcChain);
  out.push(...svc);
  const sepChains = svc.map((l) => l.split(/\s+/)[0]!).filter((c) => c.startsWith('KUBE-SEP-'));
  if (sepChains[0]) {
    out.push('', `$ iptables -t nat -L ${sepChains[0]} -n   (hairpin masquerade, then DNAT to the pod)`);
    out.push(...(await listChain(cluster, sepChains[0])));
  }
  return out;
}

async function nftablesPath(cluster: LabCluster, clusterIP: string): Promise<string[]> {
  const out: string[] = [`$ nft list map ip kube-proxy service-ips   (our ClusterIP's element)`];
  const map = await cluster.lab.exec('node1', ['nft', 'list', 'map', 'ip', 'kube-proxy', 'service-ips'], { allowFailure: true });
  const element = map.stdout.split('\n').find((l) => l.includes(clusterIP));
  out.push(element?.trim() ?? map.stdout.trim());
  const chain = element?.match(/goto (\S+)/)?.[1]?.replace(/,$/, '');
  if (!chain) return out;
  out.push('', `$ nft list chain ip kube-proxy ${chain}`);
  const svc = await cluster.lab.exec('node1', ['nft', 'list', 'chain', 'ip', 'kube-proxy', chain], { allowFailure: true });
  out.push(...svc.stdout.trimEnd().split('\n'));
  const ep = svc.stdout.match(/goto (endpoint-[^\s,}]+)/)?.[1];
  if (ep) {
    out.push('', `$ nft list chain ip kube-proxy ${ep}`);
    const epChain = await cluster.lab.exec('node1', ['nft', 'list', 'chain', 'ip', 'kube-proxy', ep], { allowFailure: true });
    out.push(...epChain.stdout.trimEnd().split('\n'));
  }
  return out;
}

async function ipvsPath(cluster: LabCluster, clusterIP: string): Promise<string[]> {
  const r = await cluster.lab.exec('node1', ['ipvsadm', '-Ln', '-t', `${clusterIP}:80`], { allowFailure: true });
  const addr = await cluster.lab.exec('node1', ['ip', 'addr', 'show', 'kube-ipvs0'], { allowFailure: true });
  return [`$ ipvsadm -Ln -t ${clusterIP}:80`, ...r.stdout.trimEnd().split('\n'), '', '$ ip addr show kube-ipvs0', ...addr.stdout.trimEnd().split('\n')];
}

#!/usr/bin/env bash
# Every node: kernel modules and sysctls for the proxy mode, containerd, kubeadm/kubelet/kubectl,
# and pod networking without a CNI add-on: each node's pods get 10.244.<index>.0/24 on a bridge,
# and static routes send the other nodes' pod subnets to those nodes (all share one LAN).
set -euo pipefail

: "${KPTS_PROXY_MODE:?}" "${KPTS_NODE_IP:?}" "${KPTS_NODE_INDEX:?}" "${KPTS_SUBNET:?}" "${KPTS_NODE_COUNT:?}"
if [ -z "${KUBERNETES_APT_BASE:-}" ]; then
  echo "KUBERNETES_APT_BASE is not set: Debian's archive has no kubeadm. Set it to the Kubernetes" >&2
  echo "apt repository URL for your minor version (see 'Installing kubeadm' in the Kubernetes docs)." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

swapoff -a
sed -i '/\sswap\s/s/^/#/' /etc/fstab

modules=(overlay br_netfilter nf_conntrack)
case $KPTS_PROXY_MODE in
  ipvs) modules+=(ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh) ;;
  nftables) modules+=(nf_tables) ;;
esac
printf '%s\n' "${modules[@]}" > /etc/modules-load.d/kube-proxy-ts.conf
for m in "${modules[@]}"; do modprobe "$m"; done

# Set here, on the host, so that the unprivileged DaemonSet never has to write them.
{
  echo 'net.ipv4.ip_forward = 1'
  echo 'net.bridge.bridge-nf-call-iptables = 1'
  echo 'net.bridge.bridge-nf-call-ip6tables = 1'
  if [ "$KPTS_PROXY_MODE" = ipvs ]; then
    echo 'net.ipv4.vs.conntrack = 1'
    echo 'net.ipv4.vs.conn_reuse_mode = 0'
    echo 'net.ipv4.vs.expire_nodest_conn = 1'
    echo 'net.ipv4.vs.expire_quiescent_template = 1'
  fi
} > /etc/sysctl.d/90-kube-proxy-ts.conf
sysctl --system >/dev/null

if [ "$(uname -r | cut -d. -f1)" -lt 5 ] || { [ "$KPTS_PROXY_MODE" = nftables ] && [ "$(uname -r | awk -F. '{print $1 * 100 + $2}')" -lt 513 ]; }; then
  echo "kernel $(uname -r) is too old for ${KPTS_PROXY_MODE} mode (nftables needs 5.13)" >&2
  exit 1
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  ca-certificates curl gpg apt-transport-https containerd containernetworking-plugins \
  iptables ipset ipvsadm nftables conntrack buildah jq >/dev/null

mkdir -p /etc/containerd
containerd config default | sed 's/SystemdCgroup = false/SystemdCgroup = true/' > /etc/containerd/config.toml
systemctl restart containerd

install -d -m 0755 /etc/apt/keyrings
curl -fsSL "${KUBERNETES_APT_BASE%/}/Release.key" | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes.gpg
echo "deb [signed-by=/etc/apt/keyrings/kubernetes.gpg] ${KUBERNETES_APT_BASE%/}/ /" > /etc/apt/sources.list.d/kubernetes.list
apt-get update -qq
apt-get install -y -qq kubelet kubeadm kubectl >/dev/null
apt-mark hold kubelet kubeadm kubectl >/dev/null
echo "KUBELET_EXTRA_ARGS=--node-ip=${KPTS_NODE_IP}" > /etc/default/kubelet
systemctl enable kubelet

# Pod networking: the bridge plugin with this node's /24, routes to the others.
mkdir -p /etc/cni/net.d
cat > /etc/cni/net.d/10-kpts-bridge.conflist <<CNI
{
  "cniVersion": "1.0.0",
  "name": "kpts",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.244.${KPTS_NODE_INDEX}.0/24" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CNI
# Debian installs the plugins under /usr/lib/cni; the kubelet and containerd look in /opt/cni/bin.
mkdir -p /opt/cni
[ -e /opt/cni/bin ] || ln -s /usr/lib/cni /opt/cni/bin

cat > /usr/local/sbin/kpts-pod-routes <<ROUTES
#!/bin/sh
# Other nodes' pod subnets, through those nodes.
for i in \$(seq 0 $((KPTS_NODE_COUNT - 1))); do
  [ "\$i" = "${KPTS_NODE_INDEX}" ] && continue
  ip route replace "10.244.\$i.0/24" via "${KPTS_SUBNET}.\$((10 + i))"
done
ROUTES
chmod 0755 /usr/local/sbin/kpts-pod-routes
cat > /etc/systemd/system/kpts-pod-routes.service <<'UNIT'
[Unit]
Description=Routes to the other nodes' pod subnets
After=network-online.target
Wants=network-online.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/kpts-pod-routes
RemainAfterExit=yes
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now kpts-pod-routes.service

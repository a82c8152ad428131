#!/usr/bin/env bash
# The control plane: kubeadm init without the kube-proxy addon, then kube-proxy-ts in the mode
# this environment is for. The bootstrap token comes from the Vagrantfile, so workers can join
# without reading anything back from this VM.
set -euo pipefail

: "${KPTS_PROXY_MODE:?}" "${KPTS_NODE_IP:?}" "${KPTS_BOOTSTRAP_TOKEN:?}" "${KPTS_PRIVILEGED:?}"
export KUBECONFIG=/etc/kubernetes/admin.conf

if [ ! -f /etc/kubernetes/admin.conf ]; then
  kubeadm init \
    --apiserver-advertise-address="$KPTS_NODE_IP" \
    --pod-network-cidr=10.244.0.0/16 \
    --token="$KPTS_BOOTSTRAP_TOKEN" --token-ttl=0 \
    --skip-phases=addon/kube-proxy
fi
install -d -o vagrant -g vagrant /home/vagrant/.kube
install -o vagrant -g vagrant -m 0600 /etc/kubernetes/admin.conf /home/vagrant/.kube/config

# The proxy reaches the API server directly: the kubernetes Service needs a proxy to work.
kubectl create namespace kube-proxy-ts --dry-run=client -o yaml | kubectl apply -f -
kubectl -n kube-proxy-ts create configmap kube-proxy-ts-apiserver \
  --from-literal=KUBERNETES_SERVICE_HOST="$KPTS_NODE_IP" --from-literal=KUBERNETES_SERVICE_PORT=6443 \
  --dry-run=client -o yaml | kubectl apply -f -

# An overlay of the checked-in manifests: the mode as a flag (flags win over config.conf).
variant=deploy
[ "$KPTS_PRIVILEGED" = true ] && variant=deploy/overlays/privileged
overlay=/root/kpts-overlay
mkdir -p "$overlay"
cat > "$overlay/kustomization.yaml" <<KUSTOMIZATION
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../vagrant/${variant}
patches:
  - target:
      kind: DaemonSet
      name: kube-proxy-ts
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --proxy-mode=${KPTS_PROXY_MODE}
KUSTOMIZATION
kubectl apply -k "$overlay"
kubectl -n kube-proxy-ts rollout status daemonset/kube-proxy-ts --timeout=10m
kubectl get nodes -o wide

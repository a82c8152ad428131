#!/usr/bin/env bash
# A worker joins with the Vagrantfile's bootstrap token. This is a throwaway test cluster: the
# CA is not pinned (--discovery-token-unsafe-skip-ca-verification) because nothing can be read
# back from the control plane's VM before the join.
set -euo pipefail

: "${KPTS_CONTROL_PLANE_IP:?}" "${KPTS_BOOTSTRAP_TOKEN:?}"
[ -f /etc/kubernetes/kubelet.conf ] && exit 0
for attempt in $(seq 1 60); do
  if kubeadm join "${KPTS_CONTROL_PLANE_IP}:6443" --token "$KPTS_BOOTSTRAP_TOKEN" --discovery-token-unsafe-skip-ca-verification; then
    exit 0
  fi
  echo "join attempt ${attempt} failed; the control plane may still be starting" >&2
  kubeadm reset -f >/dev/null 2>&1 || true
  sleep 10
done
exit 1

#!/usr/bin/env bash
# Builds the kube-proxy-ts image from the synced checkout with buildah (the repository's
# Dockerfile) and loads it into containerd's k8s.io namespace, where the kubelet finds it:
# the DaemonSet's imagePullPolicy IfNotPresent then never pulls. Every node builds its own, so
# that nodes do not depend on each other or on a registry.
set -euo pipefail

image=localhost/kube-proxy-ts:0.1.0
archive=/var/tmp/kube-proxy-ts.tar
buildah bud --layers --build-arg "REVISION=vagrant" -t "$image" /vagrant
rm -f "$archive"
buildah push "$image" "oci-archive:${archive}:${image}"
ctr -n k8s.io images import "$archive"
rm -f "$archive"
ctr -n k8s.io images ls -q | grep -Fx "$image"

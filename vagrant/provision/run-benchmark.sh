#!/usr/bin/env bash
# On the control plane: runs the sync-latency-benchmark Job once and prints its log (the last
# line is the SUMMARY that compare-modes.sh reads).
set -euo pipefail
export KUBECONFIG=/etc/kubernetes/admin.conf

kubectl -n kube-proxy-ts delete job sync-latency-benchmark --ignore-not-found --wait=true
kubectl apply -k /vagrant/deploy/benchmark
status=0
kubectl -n kube-proxy-ts wait --for=condition=complete --timeout=30m job/sync-latency-benchmark || status=1
kubectl -n kube-proxy-ts logs job/sync-latency-benchmark
exit "$status"

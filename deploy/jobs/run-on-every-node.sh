#!/usr/bin/env bash
# Creates one Job per node from a per-node Job template (migrate-from-kube-proxy.yaml,
# rollback-to-kube-proxy.yaml), waits for all of them and prints each node's result.
#   run-on-every-node.sh TEMPLATE [NODE...]      (default: every Linux node)
# Exit status: 0 when every node's Job completed, 1 otherwise (the failed Jobs' logs are printed).
set -euo pipefail

usage() {
  echo "usage: $0 JOB_TEMPLATE [NODE...]" >&2
  exit 2
}
[ "$#" -ge 1 ] || usage
template=$1
shift
[ -r "$template" ] || { echo "cannot read $template" >&2; exit 2; }
grep -q 'nodeName: placeholder-node' "$template" || { echo "$template has no 'nodeName: placeholder-node'" >&2; exit 2; }
namespace=$(sed -n 's/^  namespace: *//p' "$template" | head -n 1)
[ -n "$namespace" ] || { echo "$template names no metadata.namespace" >&2; exit 2; }
timeout_seconds=${TIMEOUT_SECONDS:-600}

nodes=("$@")
if [ "${#nodes[@]}" -eq 0 ]; then
  mapfile -t nodes < <(kubectl get nodes -l kubernetes.io/os=linux -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
fi
[ "${#nodes[@]}" -gt 0 ] || { echo "no nodes" >&2; exit 1; }

declare -A job_of
for node in "${nodes[@]}"; do
  # Node names are DNS subdomains: nothing in them means anything to sed.
  job_of[$node]=$(sed "s/placeholder-node/${node}/g" "$template" | kubectl create -f - -o name)
  echo "node ${node}: created ${job_of[$node]}"
done

# Prints Complete or Failed once the Job has finished, nothing while it runs.
job_state() {
  kubectl -n "$namespace" get "$1" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{"\n"}{end}' |
    grep -E '^(Complete|Failed)$' | head -n 1 || true
}

deadline=$((SECONDS + timeout_seconds))
declare -A state_of
pending=${#nodes[@]}
while [ "$pending" -gt 0 ] && [ "$SECONDS" -lt "$deadline" ]; do
  pending=0
  for node in "${nodes[@]}"; do
    [ -n "${state_of[$node]:-}" ] && continue
    state=$(job_state "${job_of[$node]}")
    if [ -n "$state" ]; then state_of[$node]=$state; else pending=$((pending + 1)); fi
  done
  [ "$pending" -gt 0 ] && sleep 2
done

failed=0
printf '%-40s %s\n' NODE RESULT
for node in "${nodes[@]}"; do
  state=${state_of[$node]:-Timeout}
  printf '%-40s %s\n' "$node" "$state"
  if [ "$state" != Complete ]; then
    failed=1
    echo "--- logs of ${job_of[$node]} on ${node}:"
    kubectl -n "$namespace" logs "${job_of[$node]}" --all-containers --prefix --tail=50 || true
  fi
done
exit "$failed"

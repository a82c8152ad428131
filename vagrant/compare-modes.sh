#!/usr/bin/env bash
# Brings up one cluster per proxy mode (iptables, ipvs, nftables), one after the other, runs the
# sync-latency-benchmark Job on each, destroys it (KEEP_CLUSTERS=1 keeps them) and prints a
# comparison table of the benchmark's SUMMARY lines.
#   KUBERNETES_APT_BASE=... vagrant/compare-modes.sh [MODE...]
# Needs Vagrant with the libvirt or VirtualBox provider; about 8 GiB of RAM per cluster.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
modes=("$@")
[ "${#modes[@]}" -gt 0 ] || modes=(iptables ipvs nftables)
: "${KUBERNETES_APT_BASE:?set KUBERNETES_APT_BASE (see the Vagrantfile)}"
results=$(mktemp)
trap 'rm -f "$results"' EXIT

for mode in "${modes[@]}"; do
  echo "=== ${mode}: bringing the cluster up" >&2
  export KPTS_PROXY_MODE=$mode
  log="benchmark-${mode}.log"
  # The control plane first: workers join it.
  if vagrant up --no-parallel && vagrant ssh "kpts-${mode}-cp" -c 'sudo bash /vagrant/vagrant/provision/run-benchmark.sh' | tee "$log"; then
    summary=$(grep '^SUMMARY ' "$log" | tail -n 1 || true)
    echo "${mode} ${summary:-SUMMARY complete=no-result}" >> "$results"
  else
    echo "${mode} SUMMARY complete=failed" >> "$results"
  fi
  if [ "${KEEP_CLUSTERS:-0}" != 1 ]; then
    vagrant destroy -f
  fi
done

# One row per cluster: the SUMMARY's key=value pairs as columns.
awk '
  BEGIN {
    n = split("complete nodes services endpoints netprog_p50 netprog_p90 netprog_p99 netprog_mean sync_p50 sync_p99 syncs all_programmed_max", keys, " ")
    printf "%-10s", "CLUSTER"
    for (i = 1; i <= n; i++) printf " %-18s", keys[i]
    printf "\n"
  }
  {
    delete v
    for (f = 3; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
    printf "%-10s", $1
    for (i = 1; i <= n; i++) printf " %-18s", (keys[i] in v ? v[keys[i]] : "-")
    printf "\n"
  }' "$results"
echo "(latencies in seconds; netprog = kubeproxy_network_programming_duration_seconds, sync = kubeproxy_sync_proxy_rules_duration_seconds; logs in vagrant/benchmark-MODE.log)"

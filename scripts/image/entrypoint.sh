#!/bin/sh
# The image's entrypoint: runs kube-proxy-ts with --iptables-backend set to the iptables
# implementation the node uses, as kubernetes-sigs/iptables-wrappers decides it: a hostNetwork
# proxy must write its rules where the kubelet and the CNI plugins write theirs, because legacy
# and nft rules do not see each other.
#   1. the kubelet's KUBE-IPTABLES-HINT or KUBE-KUBELET-CANARY chain in iptables-nft-save -t mangle
#      (or ip6tables-nft-save): nft;
#   2. the same chains in iptables-legacy-save (all tables: naming one would create it): legacy;
#   3. neither: whichever has more rules, nft on a tie (a fresh node).
# An explicit --iptables-backend, or KUBE_PROXY_TS_IPTABLES_BACKEND, skips the detection.
set -eu

node=${KUBE_PROXY_TS_NODE:-/usr/local/bin/node}
main=${KUBE_PROXY_TS_MAIN:-/opt/kube-proxy-ts/dist/src/cli/main.js}

for arg in "$@"; do
  case $arg in
    --iptables-backend | --iptables-backend=* | -iptables-backend | -iptables-backend=*) exec "$node" "$main" "$@" ;;
  esac
done

has_kubelet_chains() {
  "$@" 2>/dev/null | grep -qE '^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY)( |$)'
}

rule_count() {
  n=0
  for save in "$@"; do
    m=$("$save" 2>/dev/null | grep -c '^-A ' || true)
    n=$((n + ${m:-0}))
  done
  echo "$n"
}

detect_backend() {
  if has_kubelet_chains iptables-nft-save -t mangle || has_kubelet_chains ip6tables-nft-save -t mangle; then
    echo nft
  elif has_kubelet_chains iptables-legacy-save || has_kubelet_chains ip6tables-legacy-save; then
    echo legacy
  elif [ "$(rule_count iptables-legacy-save ip6tables-legacy-save)" -gt "$(rule_count iptables-nft-save ip6tables-nft-save)" ]; then
    echo legacy
  else
    echo nft
  fi
}

backend=${KUBE_PROXY_TS_IPTABLES_BACKEND:-}
if [ -z "$backend" ]; then
  backend=$(detect_backend)
  echo "kube-proxy-ts-entrypoint: the node uses iptables-$backend" >&2
fi
case $backend in
  nft | legacy) ;;
  *) echo "kube-proxy-ts-entrypoint: KUBE_PROXY_TS_IPTABLES_BACKEND must be nft or legacy, not $backend" >&2; exit 2 ;;
esac
# Appended, not prepended: the first word may be a subcommand (audit).
exec "$node" "$main" "$@" "--iptables-backend=$backend"

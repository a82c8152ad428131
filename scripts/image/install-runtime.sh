#!/bin/sh
# The runtime image's Debian packages, from Debian's archive (the Dockerfile runs this in the
# slim stage; KPTS_PRINT_PACKAGES=1 only prints the list, for the tests).
#   iptables   iptables-restore/-save, both iptables-nft and iptables-legacy (the entrypoint picks)
#   nftables   nft, for nftables mode and its cleanup
#   ipset      IPVS mode's address sets
#   conntrack  deleting stale UDP conntrack entries
#   iproute2   ip: links and addresses (IPVS mode's kube-ipvs0)
#   kmod       modprobe, for loading ip_vs and friends (privileged variant only)
#   tini       PID 1 that forwards SIGTERM to Node and reaps children (iptables-restore, nft)
set -eu
packages="iptables nftables ipset conntrack iproute2 kmod tini ca-certificates"
if [ "${KPTS_PRINT_PACKAGES:-0}" = 1 ]; then
  echo "$packages"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086 # one word per package
apt-get install -y --no-install-recommends $packages
apt-get clean
rm -rf /var/lib/apt/lists/*

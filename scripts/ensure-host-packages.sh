#!/usr/bin/env bash
# Installs the Debian packages the proxy, its lab and its tests call, when any is missing.
# Run as root; it only installs what is absent and says what it installs.
set -euo pipefail

declare -A wanted=(
  [iptables]=iptables-restore
  [nftables]=nft
  [ipset]=ipset
  [conntrack]=conntrack
  [iproute2]=ip
  [ipvsadm]=ipvsadm
  [python3]=python3
  [curl]=curl
  [procps]=ps
  # deploy/ and vagrant/ checks (test/deploy): shell linting, `vagrant validate` (works offline).
  [shellcheck]=shellcheck
  [vagrant]=vagrant
)
if [ "${KPT_WITH_VM:-1}" = 1 ]; then
  wanted[qemu-system-x86]=qemu-system-x86_64
  wanted[busybox-static]=busybox
  wanted[cpio]=cpio
  wanted[kmod]=depmod
fi

missing=()
for pkg in "${!wanted[@]}"; do
  command -v "${wanted[$pkg]}" >/dev/null 2>&1 || [ -x "/usr/sbin/${wanted[$pkg]}" ] || [ -x "/sbin/${wanted[$pkg]}" ] || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "kube-proxy-ts needs these Debian packages and root to install them: ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

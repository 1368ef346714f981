#!/bin/bash
# Installs what the e2e test and the demo need beyond tests/deps.sh, from
# Debian 12's packages (checked with --no-install-recommends):
#   qemu-system-x86                       the VM (TCG is enough)
#   libvirt-daemon, -driver-qemu, libvirt-clients
#                                         libvirtd --session, virsh
#   busybox-static, cpio, gzip            the guest's initramfs
#   iproute2, util-linux, passwd, dpkg, procps
#                                         namespaces, setpriv, users, dpkg-deb, sysctl
# The guest kernel is not installed: tests/e2e/build-guest.sh downloads it.
set -euo pipefail
pkgs=(qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
      busybox-static cpio gzip iproute2 util-linux passwd dpkg procps)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	[ "$(id -u)" -eq 0 ] || { echo "e2e deps: must be root to install: ${missing[*]}" >&2; exit 1; }
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

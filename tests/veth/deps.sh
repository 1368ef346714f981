#!/bin/bash
# Installs what the veth suites need beyond tests/deps.sh, from Debian 12's
# packages (--no-install-recommends):
#   iputils-ping      ping both ways through the veth
#   rootlesskit       its --net=lxc-user-nic driver runs ontap-lxc-user-nic
#   uidmap            newuidmap/newgidmap, which rootlesskit needs
#   dnsmasq-base      the DHCP server on the test bridge (no service: only the binary)
#   liblxc1           what Debian's lxc-user-nic links; the differential test
#                     takes that binary from liblxc-common with `apt-get
#                     download' (installing it would put a setuid lxc-user-nic
#                     on the host; lxc itself brings lxc-net, whose service
#                     would make a bridge on the host)
set -euo pipefail
pkgs=(iputils-ping rootlesskit uidmap dnsmasq-base liblxc1 iproute2 util-linux passwd dpkg)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	[ "$(id -u)" -eq 0 ] || { echo "veth deps: must be root to install: ${missing[*]}" >&2; exit 1; }
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

#!/bin/bash
# Installs what building and testing ontap needs, from Debian 12's packages.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libmnl-dev libcap-ng-dev check
      musl-tools iproute2 util-linux passwd qemu-system-common
      uidmap procps strace)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

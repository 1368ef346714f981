#!/bin/bash
# Installs what tests/deb.sh needs beyond tests/deps.sh, from Debian 12's
# packages (checked with --no-install-recommends):
#   debootstrap          the Debian 12 root the package is installed in
#   systemd-container    systemd-nspawn, which boots it with systemd as PID 1
#   dpkg-dev, binutils   conf/deb/build.sh: dpkg-shlibdeps, strip
#   lintian              the package's checks
#   util-linux           nsenter, setpriv
set -euo pipefail
pkgs=(debootstrap systemd-container dpkg-dev binutils lintian util-linux)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	[ "$(id -u)" -eq 0 ] || { echo "deb deps: must be root to install: ${missing[*]}" >&2; exit 1; }
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

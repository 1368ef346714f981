#!/bin/bash
# Makes (or finds in the cache) the Debian 12 root tests/deb.sh boots:
#   mkroot.sh CACHE_DIR        prints the root's path
# debootstrap --variant=minbase plus what the checks need:
#   systemd, dbus            PID 1 and its bus (systemctl, journalctl)
#   qemu-system-common       qemu's own qemu-bridge-helper, to divert
#   iproute2                 the bridge the requests name
#   libmnl0, libcap-ng0      ontap's dependencies: apt installs the .deb
#                            with no network inside the container
# The cache is keyed by everything that shapes the root (suite, mirror,
# packages, debootstrap's version, this script); a root made with another
# key is removed, one half made (no stamp) is never used.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
CACHE=$1
SUITE=bookworm
INCLUDE=systemd,dbus,qemu-system-common,iproute2,libmnl0,libcap-ng0

# The mirror this host's apt already uses for Debian 12 (deb822 or
# one-line sources), else Debian's own.
mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v s="$SUITE" '
			/^$/ { if (u && ok) { print u; exit } u = ""; ok = 0; next }
			tolower($1) == "uris:" { u = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
			END { if (u && ok) print u }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v s="$SUITE" '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++
			if ($i ~ /^\[/ || $i ~ /\]$/) i++
			if ($(i + 1) == s) print $i }' "$f"
	done
	echo http://deb.debian.org/debian
}
MIRROR=$(mirror | sed -n 1p)

key=$( { echo "$SUITE $MIRROR $INCLUDE"; debootstrap --version; cat "$0"; } |
	sha256sum | cut -c1-16)
ROOT=$CACHE/$key
mkdir -p "$CACHE"
for old in "$CACHE"/*; do
	if [ -e "$old" ] && [ "$old" != "$ROOT" ]; then
		echo "# removing a root made with another key: $old" >&2
		rm -rf --one-file-system "$old"
	fi
done
if [ -e "$ROOT/.ontap-complete" ]; then
	echo "$ROOT/root"
	exit 0
fi
rm -rf --one-file-system "$ROOT"
mkdir -p "$ROOT"
echo "# debootstrap $SUITE from $MIRROR into $ROOT (a few minutes, once)" >&2
if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOT/root" "$MIRROR" \
	>"$ROOT/debootstrap.log" 2>&1; then
	tail -n 20 "$ROOT/debootstrap.log" >&2
	echo "mkroot.sh: debootstrap failed: see $ROOT/debootstrap.log" >&2
	exit 1
fi
# apt inside has no network: nothing to fetch, no lists to refresh
rm -f "$ROOT/root/var/cache/apt/archives/"*.deb
touch "$ROOT/.ontap-complete"
echo "$ROOT/root"

#!/bin/bash
# Builds the e2e test guest into CACHE_DIR, from Debian 12 packages only:
#   CACHE_DIR/vmlinuz      the kernel of linux-image-cloud-amd64
#   CACHE_DIR/initrd.gz    busybox-static, that kernel's virtio NIC modules
#                          and guest-init as /init
# Nothing is installed: the kernel package is fetched with apt-get download
# and unpacked with dpkg-deb -x, so the host's /boot and /lib/modules are
# untouched.  A guest already in CACHE_DIR, built from the same guest-init
# and this same script, is reused.
#   usage: build-guest.sh CACHE_DIR     (as root, for apt-get download)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -eq 1 ] || { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
cache=$1
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

stamp=$(cat "$here/guest-init" "$here/build-guest.sh" /bin/busybox 2>/dev/null | sha256sum | cut -c1-16)
if [ -s "$cache/vmlinuz" ] && [ -s "$cache/initrd.gz" ] &&
	[ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi
# grep reads it all: with -q it would stop early, busybox would die of
# SIGPIPE, and pipefail would call that a missing insmod
if ! /bin/busybox --list 2>/dev/null | grep -x insmod >/dev/null; then
	echo "build-guest: needs busybox-static (/bin/busybox)" >&2
	exit 1
fi
rm -f "$cache/stamp"

# ---- the kernel: whatever linux-image-cloud-amd64 depends on today.  The
# .deb is kept in CACHE_DIR/deb; it is unpacked into a temp dir for each build.
deb=$(compgen -G "$cache/deb/linux-image-*.deb" | head -n 1 || true)
if [ -z "$deb" ]; then
	resolve() {
		apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
	}
	pkg=$(resolve)
	[ -n "$pkg" ] || { apt-get update -qq && pkg=$(resolve); }
	[ -n "$pkg" ] || { echo "build-guest: cannot resolve linux-image-cloud-amd64" >&2; exit 1; }
	mkdir -p "$cache/deb"
	# apt drops to _apt to download, if _apt may write here
	! id _apt >/dev/null 2>&1 || chown _apt "$cache/deb"
	echo "build-guest: downloading $pkg"
	(cd "$cache/deb" && apt-get download -qq "$pkg")
	deb=$(compgen -G "$cache/deb/${pkg}_*.deb" | head -n 1 || true)
	[ -n "$deb" ] || { echo "build-guest: apt-get download $pkg gave no .deb" >&2; exit 1; }
fi
kx=$(mktemp -d "$cache/kernel.XXXXXX")
trap 'rm -rf "$kx"' EXIT
dpkg-deb -x "$deb" "$kx"
mods=$(compgen -G "$kx/lib/modules/*" | head -n 1 || true)
kver=${mods##*/}
if [ -z "$kver" ] || [ ! -f "$kx/boot/vmlinuz-$kver" ]; then
	echo "build-guest: no kernel and modules in $deb" >&2
	exit 1
fi

# ---- the modules virtio_pci and virtio_net need, in load order.  The
# package has no modules.dep (depmod makes it at install), so read each
# module's own depends= from its .modinfo section.
declare -A path_of=() done_mod=()
while IFS= read -r f; do
	n=${f##*/}; n=${n%.ko}; path_of[${n//-/_}]=$f
done < <(find "$mods/kernel" -name '*.ko')
order=()
add_mod() {
	local m=${1//-/_} d deps
	[ -z "${done_mod[$m]:-}" ] || return 0
	[ -n "${path_of[$m]:-}" ] || { echo "build-guest: module $m not in $kver" >&2; exit 1; }
	done_mod[$m]=1
	deps=$(tr '\0' '\n' <"${path_of[$m]}" | sed -n 's/^depends=//p' | head -n 1)
	for d in ${deps//,/ }; do add_mod "$d"; done
	order+=("$m")
}
add_mod virtio_pci
add_mod virtio_net

# ---- the initramfs
root=$kx/initramfs
mkdir -p "$root"/{bin,dev,proc,sys,lib/modules}
cp /bin/busybox "$root/bin/busybox"
install -m 0755 "$here/guest-init" "$root/init"
for m in "${order[@]}"; do cp "${path_of[$m]}" "$root/lib/modules/$m.ko"; done
printf '%s\n' "${order[@]}" >"$root/lib/modules/load-order"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -9n >"$cache/initrd.gz.tmp"
mv "$cache/initrd.gz.tmp" "$cache/initrd.gz"
cp "$kx/boot/vmlinuz-$kver" "$cache/vmlinuz"
echo "$kver" >"$cache/kernel-version"
dpkg-query -W -f='${Version}\n' busybox-static >"$cache/busybox-version" 2>/dev/null || true
echo "$stamp" >"$cache/stamp"
echo "build-guest: kernel $kver (${deb##*/}), modules ${order[*]}, in $cache"

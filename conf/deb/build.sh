#!/bin/bash
# Builds ontap's Debian package from this source tree:
#   bash conf/deb/build.sh [WORK_DIR]          (default: build/deb)
# prints the path of WORK_DIR/ontap_VERSION_ARCH.deb.  As any user; needs
# cmake, the build dependencies (tests/deps.sh) and dpkg-dev.
#
# The package holds what `cmake --install --prefix /usr' installs, so a
# program with an install rule is in it with nothing to change here, plus
# what only a package has: the conffile /etc/ontap/ontap.conf, the
# maintainer scripts (conf/deb/), copyright and changelog.  qemu-bridge-helper
# is ontap-helper installed where qemu looks for it
# (ONTAP_INSTALL_AS_QEMU_HELPER); preinst diverts qemu's own.
set -euo pipefail
umask 022

SRC=$(cd "$(dirname "$0")/../.." && pwd)
DEB=$SRC/conf/deb
WORK=${1:-$SRC/build/deb}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }
for c in cmake dpkg-deb dpkg-shlibdeps dpkg-architecture gzip strip; do
	command -v "$c" >/dev/null || die "missing command: $c (Debian: apt-get install cmake dpkg-dev)"
done

# ---- build and install into the staging tree, as the package will have it
B=$WORK/cmake
STAGE=$WORK/root
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	-DONTAP_INSTALL_AS_QEMU_HELPER=ON -DONTAP_QEMU_HELPER_DIR=lib/qemu \
	-DONTAP_SYSTEMD_UNITDIR=/lib/systemd/system >"$WORK/cmake.log" ||
	die "cmake configure failed: see $WORK/cmake.log"
cmake --build "$B" -j"$(nproc)" >>"$WORK/cmake.log" ||
	die "build failed: see $WORK/cmake.log"
rm -rf "$STAGE"
DESTDIR=$STAGE cmake --install "$B" --strip >>"$WORK/cmake.log" ||
	die "cmake --install failed: see $WORK/cmake.log"

VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$B/CMakeCache.txt")
[ -n "$VERSION" ] || die "no CMAKE_PROJECT_VERSION in $B/CMakeCache.txt"
# the package version is the project's (a native package): the changelog
# must say so, or dpkg and lintian would see two versions
CLV=$(sed -n '1s/^ontap (\([^)]*\)).*/\1/p' "$DEB/changelog")
[ "$CLV" = "$VERSION" ] ||
	die "conf/deb/changelog: first entry is version \`$CLV', CMakeLists.txt says \`$VERSION'"
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)

# ---- what only the package has
install -D -m 0644 "$SRC/conf/ontap.conf" "$STAGE/etc/ontap/ontap.conf"
install -D -m 0644 "$DEB/lintian-overrides" "$STAGE/usr/share/lintian/overrides/ontap"
DOC=$STAGE/usr/share/doc/ontap
install -D -m 0644 "$DEB/copyright" "$DOC/copyright"
gzip -9nc "$DEB/changelog" >"$DOC/changelog.gz"
gzip -9nc "$SRC/README" >"$DOC/README.gz"
find "$STAGE/usr/share/man" -type f -name '*.[1-9]' -exec gzip -9nf {} +
# ownership is root's in the archive (--root-owner-group); modes are ours
find "$STAGE" -type d -exec chmod 0755 {} +

# ---- control files
mkdir -p "$STAGE/DEBIAN"
for s in preinst postinst prerm postrm; do
	install -m 0755 "$DEB/$s" "$STAGE/DEBIAN/$s"
done
(cd "$STAGE" && find etc -type f -printf '/%p\n' | sort) >"$STAGE/DEBIAN/conffiles"

# Depends: from the ELF files' needs, as dpkg-shlibdeps reads them
elves=()
while IFS= read -r -d '' f; do
	[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && elves+=("$f")
done < <(find "$STAGE" -path "$STAGE/DEBIAN" -prune -o -type f -perm -u+x -print0)
((${#elves[@]})) || die "no program in the staging tree"
# as dh_strip does: a file installed as a copy (qemu-bridge-helper) is not
# stripped by `cmake --install --strip'
strip --strip-unneeded --remove-section=.comment --remove-section=.note "${elves[@]}"
SH=$WORK/shlibs
mkdir -p "$SH/debian"
printf 'Source: ontap\n\nPackage: ontap\nArchitecture: any\n' >"$SH/debian/control"
depends=$(cd "$SH" && dpkg-shlibdeps -O "${elves[@]}" 2>"$WORK/shlibdeps.log" |
	sed -n 's/^shlibs:Depends=//p') || die "dpkg-shlibdeps failed: see $WORK/shlibdeps.log"
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependency: see $WORK/shlibdeps.log"

size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$size/" \
	-e "s/@DEPENDS@/$depends/" "$DEB/control.in" >"$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
	xargs -0 md5sum) >"$STAGE/DEBIAN/md5sums"

OUT=$WORK/ontap_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$OUT" >/dev/null
echo "$OUT"

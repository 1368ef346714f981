#!/bin/bash
# Installs ontap into a DESTDIR and checks the tree: every file where it
# belongs and nothing else, no setuid or setgid file, no file capabilities,
# generated files naming the installed paths; `mandoc -Tlint' on every
# manual page and `systemd-analyze verify' on the units.  Then installs a
# second build with ONTAP_INSTALL_AS_QEMU_HELPER=ON and checks that the
# helper is where qemu and libvirt look for it.
#   usage: install.sh BUILD_DIR SOURCE_DIR     (root, to install what it needs)
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2; exit 2; }
BUILD=$(realpath -e "$1")
SRC=$(realpath -e "$2")

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); printf 'PASS: %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL: %s\n' "$*"; }
# check NAME COMMAND...: PASS if the command succeeds
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
# empty NAME OUTPUT: PASS if OUTPUT is empty, else FAIL and show it
empty() {
	if [ -z "$2" ]; then
		pass "$1"
	else
		fail "$1"
		printf '%s\n' "$2" | sed 's/^/    /'
	fi
}

# ---- what the checks need, from Debian 12's packages
need=()
command -v mandoc >/dev/null || need+=(mandoc)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v getcap >/dev/null || need+=(libcap2-bin)
if ((${#need[@]})); then
	[ "$(id -u)" -eq 0 ] || { echo "missing ${need[*]}, and not root to install them" >&2; exit 1; }
	echo "installing: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

T=$(mktemp -d /tmp/ontap-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
ROOT=$T/root
PREFIX=/usr

# ---- install the build under test
if DESTDIR=$ROOT cmake --install "$BUILD" --prefix "$PREFIX" >"$T/install.log" 2>&1; then
	pass "cmake --install into DESTDIR"
else
	fail "cmake --install into DESTDIR"
	sed 's/^/    /' "$T/install.log"
fi

UNITDIR=usr/lib/systemd/system
EX=usr/share/doc/ontap/examples
UNITS=(ontap-broker.service ontap-broker.socket
	ontap-broker-inetd.socket ontap-broker-inetd@.service)
executables=(usr/sbin/ontap-broker usr/libexec/ontap-helper usr/bin/ontap-tap
	usr/bin/ontap-veth usr/libexec/ontap-lxc-user-nic
	"$EX/s6/ontap-broker/run" "$EX/s6/ontap-broker/log/run"
	"$EX/s6/ontap-broker-ipc/run" "$EX/s6/ontap-broker-ipc/log/run")
datafiles=("${UNITS[@]/#/$UNITDIR/}"
	"$EX/bridge.conf" "$EX/lab.conf" "$EX/ontap.conf"
	"$EX/s6/ontap-broker/notification-fd" "$EX/s6/ontap-broker-ipc/notification-fd"
	"$EX/apparmor/abstractions/ontap-helper" "$EX/apparmor/local/usr.sbin.libvirtd")
# every manual page in the sources is installed, in its section
pages=()
for p in "$SRC"/man/*.[1-9]; do
	n=${p##*/}
	pages+=("usr/share/man/man${n##*.}/$n")
done
datafiles+=("${pages[@]}")

for f in "${executables[@]}"; do
	check "installed, executable: /$f" test -f "$ROOT/$f" -a -x "$ROOT/$f"
done
for f in "${datafiles[@]}"; do
	check "installed, not executable: /$f" test -f "$ROOT/$f" -a ! -x "$ROOT/$f"
done
expected=$(printf '%s\n' "${executables[@]}" "${datafiles[@]}" | sort)
actual=$(cd "$ROOT" && find . \( -type f -o -type l \) -printf '%P\n' | sort)
empty "nothing installed but the files above" "$(comm -13 <(echo "$expected") <(echo "$actual"))"
empty "no qemu-bridge-helper unless asked for" \
	"$(cd "$ROOT" && find . -name qemu-bridge-helper -printf '%P\n')"
empty "no lxc-user-nic unless asked for" \
	"$(cd "$ROOT" && find . -name lxc-user-nic -printf '%P\n')"

# ---- privilege: none anywhere in the tree
empty "no setuid or setgid file" "$(find "$ROOT" -perm /6000 -printf '%P %m\n')"
empty "no file capabilities" "$(getcap -r "$ROOT" 2>&1)"
empty "no file writable by group or others" \
	"$(find "$ROOT" -type f -perm /022 -printf '%P %m\n')"

# ---- generated files name the installed paths
generated=("${UNITS[@]/#/$UNITDIR/}"
	"$EX/s6/ontap-broker/run" "$EX/s6/ontap-broker/log/run"
	"$EX/s6/ontap-broker-ipc/run" "$EX/s6/ontap-broker-ipc/log/run"
	"$EX/apparmor/abstractions/ontap-helper" "$EX/apparmor/local/usr.sbin.libvirtd")
empty "no @VARIABLE@ left in generated files" \
	"$(cd "$ROOT" || exit; grep -Hn '@[A-Z_]*@' "${generated[@]}" 2>&1 || true)"
check "service runs the installed broker" \
	grep -qx "ExecStart=$PREFIX/sbin/ontap-broker" "$ROOT/$UNITDIR/ontap-broker.service"
check "service stops and restarts with its socket (PartOf=)" \
	grep -qx "PartOf=ontap-broker.socket" "$ROOT/$UNITDIR/ontap-broker.service"
# a broken ontap.conf must fail `systemctl reload': checked, then signalled
check_eq_lines() { [ "$2" = "$3" ] || { printf '    want: %s\n    got:  %s\n' "$2" "$3"; return 1; }; }
check "reload: ontap-broker --check-config, then SIGHUP" check_eq_lines reload \
	"$(printf '%s\n' "ExecReload=$PREFIX/sbin/ontap-broker --check-config" 'ExecReload=/bin/sh -c "kill -HUP $MAINPID"')" \
	"$(grep '^ExecReload=' "$ROOT/$UNITDIR/ontap-broker.service")"
check "inetd service runs the installed broker --inetd" \
	grep -qx "ExecStart=$PREFIX/sbin/ontap-broker --inetd" "$ROOT/$UNITDIR/ontap-broker-inetd@.service"
check "s6 run script runs the installed broker" \
	grep -qx "exec $PREFIX/sbin/ontap-broker --ready-fd 3" "$ROOT/$EX/s6/ontap-broker/run"
check "s6-ipcserver run script runs the installed broker --inetd" \
	grep -q " $PREFIX/sbin/ontap-broker --inetd\$" "$ROOT/$EX/s6/ontap-broker-ipc/run"
check "AppArmor snippet names the installed helper" \
	grep -q "^  $PREFIX/libexec/ontap-helper Cx -> ontap_helper,$" \
	"$ROOT/$EX/apparmor/local/usr.sbin.libvirtd"
for f in "$ROOT/$EX"/s6/*/run "$ROOT/$EX"/s6/*/log/run; do
	f=${f#"$ROOT"/}
	check "sh -n /$f" sh -n "$ROOT/$f"
done

# ---- the installed programs run
version_is() { [[ $("$1" --version 2>&1) == "$2 (ontap) "* ]]; }
check "installed ontap-broker --version" version_is "$ROOT/usr/sbin/ontap-broker" ontap-broker
check "installed ontap-helper --version" version_is "$ROOT/usr/libexec/ontap-helper" ontap-helper
check "installed ontap-tap --version" version_is "$ROOT/usr/bin/ontap-tap" ontap-tap

# ---- manual pages: mandoc -Tlint, cross-references among ontap's own
# pages resolved against the installed tree.  References to other
# projects' pages depend on what this machine has installed: not checked.
MANROOT=$ROOT/usr/share/man
makewhatis "$MANROOT" 2>/dev/null || true
ours=$(for p in "${pages[@]}"; do n=${p##*/}; echo "${n%.*} ${n##*.}"; done)
for p in "${pages[@]}"; do
	out=$(MANPATH=$MANROOT mandoc -Tlint -W style "$ROOT/$p" 2>&1 || true)
	bad=$(printf '%s\n' "$out" | while IFS= read -r line; do
		[ -n "$line" ] || continue
		case $line in
		*"outdated mandoc.db"*) continue ;;
		*"referenced manual not found: Xr "*)
			ref=${line##*Xr }
			ref=${ref% (*}
			grep -qxF "$ref" <<<"$ours" || continue ;;
		esac
		printf '%s\n' "$line"
	done)
	empty "mandoc -Tlint ${p##*/}" "$bad"
done

# ---- systemd units: verify the installed units, with the broker's Exec*= pointed
# into the DESTDIR (verify checks that the program exists) and the manual
# pages of Documentation= found in the DESTDIR.
V=$T/units
mkdir "$V"
for u in "${UNITS[@]}"; do
	sed "s|^\(Exec[A-Za-z]*=\)$PREFIX/sbin/|\1$ROOT$PREFIX/sbin/|" "$ROOT/$UNITDIR/$u" >"$V/$u"
done
man=--man=yes
command -v man >/dev/null || man=--man=no
# a template is verified through an instance of it
cp "$V/ontap-broker-inetd@.service" "$V/ontap-broker-inetd@0.service"
for u in ontap-broker.service ontap-broker.socket ontap-broker-inetd.socket \
	ontap-broker-inetd@0.service; do
	if out=$(cd "$V" && MANPATH=$MANROOT systemd-analyze verify "$man" "./$u" 2>&1) &&
		[ -z "$out" ]; then
		pass "systemd-analyze verify $u"
	else
		fail "systemd-analyze verify $u"
		printf '%s\n' "$out" | sed 's/^/    /'
	fi
done
# 10 is "UNSAFE"; the units as written score about 2: catch a hardening lost
for u in ontap-broker.service ontap-broker-inetd@0.service; do
	score=$(cd "$V" && systemd-analyze security --offline=true "./$u" 2>&1 |
		sed -n "s/.*Overall exposure level for $u: \([0-9.]*\).*/\1/p")
	echo "# systemd-analyze security: exposure ${score:-?} for $u"
	check "$u exposure ${score:-?} at most 3.0" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 3.0) }'
done

# ---- ONTAP_INSTALL_AS_QEMU_HELPER: a build of its own, where qemu looks
QB=$T/build-qemu
if cmake -S "$SRC" -B "$QB" -DONTAP_INSTALL_AS_QEMU_HELPER=ON >"$T/qemu.log" 2>&1 &&
	cmake --build "$QB" -j2 --target ontap-helper ontap-tap ontap-broker ontap-veth \
		ontap-lxc-user-nic >>"$T/qemu.log" 2>&1 &&
	DESTDIR=$T/root-qemu cmake --install "$QB" --prefix "$PREFIX" >>"$T/qemu.log" 2>&1; then
	pass "build and install with ONTAP_INSTALL_AS_QEMU_HELPER=ON"
else
	fail "build and install with ONTAP_INSTALL_AS_QEMU_HELPER=ON"
	tail -20 "$T/qemu.log" | sed 's/^/    /'
fi
QH=$T/root-qemu$PREFIX/lib/qemu/qemu-bridge-helper
check "qemu-bridge-helper in /usr/lib/qemu, a regular file, not a link" \
	test -f "$QH" -a ! -L "$QH" -a -x "$QH"
check "qemu-bridge-helper is ontap-helper" cmp -s "$QH" "$T/root-qemu$PREFIX/libexec/ontap-helper"
check "qemu-bridge-helper mode 0755" test "$(stat -c %a "$QH" 2>/dev/null)" = 755
empty "no setuid, setgid or file capabilities with the qemu helper" \
	"$(find "$T/root-qemu" -perm /6000 -printf '%P\n'; getcap -r "$T/root-qemu" 2>&1)"
# what qemu-bridge-helper prints for a bad call, word for word
out=$("$QH" 2>&1) && rc=0 || rc=$?
check "qemu-bridge-helper without arguments: the reference's usage line, exit 1" \
	test "$rc:$out" = "1:Usage: qemu-bridge-helper [--use-vnet] --br=bridge --fd=unixfd"
# an absolute directory, as for /usr/libexec elsewhere than Debian
if cmake -S "$SRC" -B "$QB" -DONTAP_QEMU_HELPER_DIR=/usr/libexec >>"$T/qemu.log" 2>&1 &&
	DESTDIR=$T/root-libexec cmake --install "$QB" --prefix "$PREFIX" >>"$T/qemu.log" 2>&1; then
	check "ONTAP_QEMU_HELPER_DIR=/usr/libexec: /usr/libexec/qemu-bridge-helper" \
		test -f "$T/root-libexec/usr/libexec/qemu-bridge-helper"
else
	fail "install with ONTAP_QEMU_HELPER_DIR=/usr/libexec"
	tail -20 "$T/qemu.log" | sed 's/^/    /'
fi

# ---- ONTAP_INSTALL_AS_LXC_USER_NIC: where LXC looks (Debian: /usr/libexec/lxc)
LB=$T/build-lxc
if cmake -S "$SRC" -B "$LB" -DONTAP_INSTALL_AS_LXC_USER_NIC=ON >"$T/lxc.log" 2>&1 &&
	cmake --build "$LB" -j2 >>"$T/lxc.log" 2>&1 &&
	DESTDIR=$T/root-lxc cmake --install "$LB" --prefix "$PREFIX" >>"$T/lxc.log" 2>&1; then
	pass "build and install with ONTAP_INSTALL_AS_LXC_USER_NIC=ON"
else
	fail "build and install with ONTAP_INSTALL_AS_LXC_USER_NIC=ON"
	tail -20 "$T/lxc.log" | sed 's/^/    /'
fi
LH=$T/root-lxc$PREFIX/libexec/lxc/lxc-user-nic
check "lxc-user-nic in /usr/libexec/lxc, a regular file, not a link" \
	test -f "$LH" -a ! -L "$LH" -a -x "$LH"
check "lxc-user-nic is ontap-lxc-user-nic" cmp -s "$LH" "$T/root-lxc$PREFIX/libexec/ontap-lxc-user-nic"
empty "no setuid, setgid or file capabilities with lxc-user-nic" \
	"$(find "$T/root-lxc" -perm /6000 -printf '%P\n'; getcap -r "$T/root-lxc" 2>&1)"
# lxc-user-nic's usage for a bad call, exit 1
out=$("$LH" 2>&1) && rc=0 || rc=$?
check "lxc-user-nic without arguments: lxc-user-nic's usage, exit 1" \
	test "$rc:${out%%$'\n'*}" = "1:Usage: $LH create {lxcpath} {name} {pid} {type} {bridge} {nicname}"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

#!/bin/bash
# The Debian package under a real systemd: builds the .deb
# (conf/deb/build.sh), runs lintian on it, boots a Debian 12 root
# (tests/deb/mkroot.sh, cached in the build directory) with systemd-nspawn,
# systemd as PID 1, in a network namespace of its own, and there:
# installs the package with apt as an admin would, then, as an
# unprivileged user, checks socket activation and the audit records in
# `journalctl -u', the qemu call on qemu's default helper path, reload
# with a good and a broken ontap.conf, stopping and restarting the socket
# and the service, the Accept=yes variant, the broker's capabilities,
# syslog and `journalctl -t'; a failed install first (nothing left), then
# a reinstall, an upgrade, the lxc-user-nic opt-in, remove (qemu's own
# helper back, hash compared, an admin's statoverride with it) and purge
# (nothing of ontap left).
#   usage: deb.sh BUILD_DIR      (root)
# shellcheck disable=SC2016 # dpkg-query formats and sh -c scripts, for the container
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
# absolute: the namespaced run starts in /
set -- "$(realpath -e "$1")"
SRC=$(cd "$(dirname "$0")/.." && pwd)
require_root

# ---- outside the test namespaces: what needs the network or the host
if [ -z "${ONTAP_TEST_NS:-}" ]; then
	bash "$SRC/tests/deb/deps.sh"
	BUILD=$1
	[ -x "$BUILD/tests/qemu-call" ] || die "not built: $BUILD/tests/qemu-call"
	log "building the package (conf/deb/build.sh)"
	ONTAP_DEB=$(bash "$SRC/conf/deb/build.sh" "$BUILD/deb") || die "conf/deb/build.sh failed"
	ONTAP_DEB_ROOT=$(bash "$SRC/tests/deb/mkroot.sh" "$BUILD/deb-root") ||
		die "tests/deb/mkroot.sh failed"
	export ONTAP_DEB ONTAP_DEB_ROOT
fi
enter_test_ns "$@"
init_test_env
BUILD=$1
# enter_test_ns mounted a fresh sysfs, without the cgroup hierarchies
# nspawn needs: the caller's (as its mountinfo lists them) are mounted again
# where they were, in this mount namespace only.  Mounting an existing
# hierarchy again attaches to it; nothing is created.
mount_cgroups() {
	local mi=/proc/$PPID/mountinfo target fstype opts o
	[ -r "$mi" ] || mi=/proc/1/mountinfo
	# fields: ... mount-point ... - fstype source super-options
	while read -r target fstype opts; do
		case $target in /sys/fs/cgroup | /sys/fs/cgroup/*) ;; *) continue ;; esac
		mkdir -p "$target"
		case $fstype in
		tmpfs) mount -t tmpfs -o mode=0755 ontap-cgroup "$target" ;;
		cgroup2) mount -t cgroup2 cgroup2 "$target" ;;
		cgroup)
			o=$(printf '%s' "$opts" | tr ',' '\n' | grep -v -e '^rw$' -e '^ro$' | paste -sd, -)
			case $o in name=*) o=none,$o ;; esac
			mount -t cgroup -o "$o" cgroup "$target" ;;
		esac
	done < <(awk '{ for (i = 7; $i != "-"; i++); print $5, $(i + 1), $(i + 3) }' "$mi")
	[ "$(stat -f -c %T /sys/fs/cgroup)" != sysfs ] || die "no cgroup hierarchy to give the container"
}
mount_cgroups

# ---- lintian ---------------------------------------------------------------
# no error; the rest is shown (the report lists each with its reason)
lint=$(lintian --tag-display-limit 0 -EvIL +pedantic "$ONTAP_DEB" 2>&1 | grep -v '^N:' |
	grep -v 'running with root privileges' || true)
printf '%s\n' "$lint" | sed -n 's/^/# lintian: /p'
check_eq "lintian: no error" "" "$(printf '%s\n' "$lint" | grep '^E:' || true)"

# ---- the container -----------------------------------------------------------
# The cached root stays untouched: the container runs on an overlay of it.
# 0755: the upper directory's mode is the container's / for its users
mkdir -m 0755 "$T/ov" "$T/ov/up" "$T/ov/work" "$T/ov/root"
mount -t overlay ontap-deb -o "lowerdir=$ONTAP_DEB_ROOT,upperdir=$T/ov/up,workdir=$T/ov/work" \
	"$T/ov/root"
ONTAP_MOUNTS+=("$T/ov/root")
R=$T/ov/root
mkdir -p "$R/srv/ontap-pkg"
cp "$ONTAP_DEB" "$R/srv/ontap-pkg/"
PKG=/srv/ontap-pkg/${ONTAP_DEB##*/}
cp "$BUILD/tests/qemu-call" "$R/usr/local/bin/qemu-call"

MACHINE=ontapdeb$$
# --register=no --keep-unit: no machined or host systemd is needed.
# --private-network: the container has its own network namespace (inside
# this test's); the broker's taps and bridges are made there.  /dev/net/tun
# is bound in; nspawn keeps CAP_NET_ADMIN with a private network, and
# CAP_SETUID and CAP_SETGID by default: the broker's three.
systemd-nspawn --quiet --directory="$R" --machine="$MACHINE" --boot \
	--register=no --keep-unit --private-network --bind=/dev/net/tun \
	--console=read-only >"$T/console.log" 2>&1 </dev/null &
NSPAWN=$!
ONTAP_CLEANUPS+=("stop_container")
LEADER=
# PID 1 first, politely (nspawn turns SIGTERM into a shutdown), then hard;
# a container PID 1 still there takes every process of the container with
# it when killed.
stop_container() {
	kill -TERM "$NSPAWN" 2>/dev/null || return 0
	wait_for 200 proc_gone "$NSPAWN" || kill -KILL "$NSPAWN" 2>/dev/null
	wait "$NSPAWN" 2>/dev/null || true
	# the pid is the container's PID 1 still (not reused) if it is in
	# another pid namespace than ours
	if [ -n "${LEADER:-}" ] && ! proc_gone "$LEADER" &&
		[ "$(readlink "/proc/$LEADER/ns/pid" 2>/dev/null)" != "$(readlink /proc/self/ns/pid)" ]; then
		kill -KILL "$LEADER" 2>/dev/null
		wait_for 50 proc_gone "$LEADER"
	fi
}

# The container's PID 1, as this namespace sees it: nspawn's child running
# systemd.
leader() {
	local c
	c=$(cat "/proc/$NSPAWN/task/$NSPAWN/children" 2>/dev/null) || return 1
	c=${c%% *}
	[ -n "$c" ] && [ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] && LEADER=$c
}
wait_for 300 leader || { sed 's/^/#   /' "$T/console.log"; die "the container did not start"; }
# ct: runs a command as root in the container, with its environment
ct() {
	nsenter --target "$LEADER" --mount --uts --ipc --net --pid --cgroup -- \
		env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}
# as_user: the same, as alice, with her own groups and no capability
as_user() {
	ct setpriv --reuid alice --regid alice --init-groups --inh-caps=-all -- "$@"
}
# systemctl needs PID 1's private socket, there a moment after PID 1 is
bus_up() { ct test -S /run/systemd/private 2>/dev/null; }
wait_for 300 bus_up || true
state=$(ct timeout 60 systemctl is-system-running --wait 2>&1 || true)
check_match "the container boots, systemd as PID 1 ($state)" '^(running|degraded)$' "$state"
[ "$state" = running ] || { ct systemctl --failed --no-legend --no-pager || true; } | sed 's/^/#   failed: /'
check_eq "PID 1 in the container is systemd" systemd "$(ct cat /proc/1/comm)"
check "its own network namespace" test "$(readlink "/proc/$LEADER/ns/net")" != "$(readlink /proc/self/ns/net)"

# ---- before: qemu's helper, made setuid by the admin through dpkg ----------
QBH=/usr/lib/qemu/qemu-bridge-helper
QSHA=$(ct sha256sum "$QBH" | cut -d' ' -f1)
ct dpkg-statoverride --update --add root root 4755 "$QBH"
check_eq "before: qemu's helper setuid by statoverride" 4755 "$(ct stat -c %a "$QBH")"
ct useradd -m -u 1000 alice
ct ip link add br0 type bridge
ct ip link set br0 up
ct mkdir -p /etc/qemu
ct sh -c 'echo "allow br0" >/etc/qemu/bridge.conf'

# ---- a failed install leaves nothing (postrm abort-install) ----------------
# Another package owning one of ontap's files: dpkg fails the unpack after
# preinst added the diversion, and calls postrm abort-install.
mkdir -p "$T/clash/DEBIAN" "$T/clash/usr/sbin"
printf '%s\n' 'Package: ontap-test-clash' 'Version: 1' 'Architecture: all' \
	'Maintainer: ontap tests <ontap@example.org>' \
	'Description: owns /usr/sbin/ontap-broker, so that ontap cannot unpack' >"$T/clash/DEBIAN/control"
: >"$T/clash/usr/sbin/ontap-broker"
dpkg-deb --root-owner-group --build "$T/clash" "$R/srv/ontap-pkg/clash.deb" >/dev/null
ct dpkg -i /srv/ontap-pkg/clash.deb >/dev/null
if ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$PKG" >"$T/failed.log" 2>&1; then
	fail "an install that cannot unpack fails"
else
	pass "an install that cannot unpack fails"
fi
check_eq "failed install: no diversion left" "" "$(ct dpkg-divert --list '*qemu-bridge-helper*')"
check_eq "failed install: qemu's helper in its place" "$QSHA" "$(ct sha256sum "$QBH" | cut -d' ' -f1)"
check_eq "failed install: its statoverride back" "root root 4755 $QBH" "$(ct dpkg-statoverride --list "$QBH")"
ct dpkg --purge ontap-test-clash >/dev/null
ct rm /srv/ontap-pkg/clash.deb

# ---- install -----------------------------------------------------------------
if ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$PKG" >"$T/install.log" 2>&1; then
	pass "apt-get install ./${PKG##*/} (no network: only what the root has)"
else
	fail "apt-get install ./${PKG##*/}" "$(tail -n 20 "$T/install.log")"
fi
check_eq "diversion of qemu's helper, by ontap" \
	"diversion of $QBH to $QBH.qemu by ontap" "$(ct dpkg-divert --list "$QBH")"
check_eq "qemu's helper moved aside, unchanged" "$QSHA" "$(ct sha256sum "$QBH.qemu" | cut -d' ' -f1)"
check_eq "qemu's helper moved aside: no setuid bit" 755 "$(ct stat -c %a "$QBH.qemu")"
check_eq "no statoverride on $QBH while ontap is installed" "" "$(ct dpkg-statoverride --list "$QBH" || true)"
check "$QBH is ontap-helper" ct cmp -s "$QBH" /usr/libexec/ontap-helper
check_eq "$QBH: mode 0755, root" "755 root" "$(ct stat -c '%a %U' "$QBH")"
check_eq "ontap-broker.socket enabled" enabled "$(ct systemctl is-enabled ontap-broker.socket)"
check_eq "ontap-broker.socket listening" active "$(ct systemctl is-active ontap-broker.socket)"
check_eq "ontap-broker.service: not running before a request" inactive \
	"$(ct systemctl is-active ontap-broker.service || true)"
check_eq "ontap-broker.service not enabled (the socket starts it)" disabled \
	"$(ct systemctl is-enabled ontap-broker.service || true)"
check_eq "conffile /etc/ontap/ontap.conf" /etc/ontap/ontap.conf \
	"$(ct dpkg-query --showformat='${Conffiles}\n' --show ontap | awk 'NF { print $1 }')"
check "manual page gzipped: ontap-broker(8)" ct test -f /usr/share/man/man8/ontap-broker.8.gz
check "copyright and changelog in /usr/share/doc/ontap" \
	ct test -f /usr/share/doc/ontap/copyright -a -f /usr/share/doc/ontap/changelog.gz

# ---- requests --------------------------------------------------------------------
# audit_count UNIT-PATTERN VERDICT: audit records of that verdict journald
# puts under the unit
audit_count() {
	ct journalctl --no-pager -q -o cat -u "$1" 2>/dev/null | grep -c "verdict=$2 " || true
}
# request BRIDGE: the way qemu runs its default helper, no helper= given
request() {
	as_user qemu-call "$QBH" "$1" 2>&1
}
out=$(request br0 || true)
check_match "first request, as alice, on qemu's default path: granted" '^tap=tap[0-9]+ .*master=br0' "$out"
check_eq "socket activation: ontap-broker.service started" active \
	"$(ct systemctl is-active ontap-broker.service || true)"
has_grant() { [ "$(audit_count ontap-broker grant)" -ge "$1" ]; }
wait_for 50 has_grant 1 || true
line=$(ct journalctl --no-pager -q -o cat -u ontap-broker | grep 'verdict=grant' | head -n 1)
check_match "journalctl -u ontap-broker: the audit record of that request" \
	"verdict=grant uid=1000 gid=1000 .*exe=\"$QBH\" bridge=\"br0\" tap=tap[0-9]+ " "$line"

# Every request's record under the unit, whichever process of the broker
# wrote it: 10 granted and 10 refused, then each counted.
g0=$(audit_count ontap-broker grant)
d0=$(audit_count ontap-broker deny)
ok=0
for i in $(seq 10); do
	request br0 >/dev/null && ok=$((ok + 1))
	request br1 >/dev/null || true
done
check_eq "10 more requests granted" 10 "$ok"
have_all() {
	[ "$(audit_count ontap-broker grant)" -ge $((g0 + 10)) ] &&
		[ "$(audit_count ontap-broker deny)" -ge $((d0 + 10)) ]
}
wait_for 50 have_all || true
check_eq "journalctl -u finds all 20 records (10 grant, 10 deny)" "10 10" \
	"$(($(audit_count ontap-broker grant) - g0)) $(($(audit_count ontap-broker deny) - d0))"
out=$(request br1 || true)
check_match "a bridge bridge.conf does not allow: refused, in the helper's words" "access denied" "$out"

# No record lost to journald's rate limit.  A user makes records as fast as
# the broker refuses her, and past journald's limit (10000 per 30 s per
# unit by default, scaled up with free space) it would drop everyone's
# records, other users' grants included.  The units give the broker a limit
# no broker reaches; here journald.conf's own is made tiny (5, which free
# space scales to at most 60), so that a burst of 100 would cross it.
ct mkdir -p /etc/systemd/journald.conf.d
ct sh -c 'printf "[Journal]\nRateLimitIntervalSec=30s\nRateLimitBurst=5\n" \
	>/etc/systemd/journald.conf.d/ontap-test.conf'
ct systemctl restart systemd-journald
d0=$(audit_count ontap-broker deny)
for i in $(seq 100); do
	request br1 >/dev/null || true
done
have_burst() { [ "$(audit_count ontap-broker deny)" -ge $((d0 + 100)) ]; }
wait_for 50 have_burst || true
check_eq "100 refusals in a burst, journald.conf allowing 5 per 30 s: 100 records" 100 \
	"$(($(audit_count ontap-broker deny) - d0))"
ct rm /etc/systemd/journald.conf.d/ontap-test.conf
ct systemctl restart systemd-journald

# ---- the running broker's privilege ------------------------------------------
mainpid() { ct systemctl show --property=MainPID --value ontap-broker.service; }
PID=$(mainpid)
status=$(ct cat "/proc/$PID/status")
capline() { printf '%s\n' "$status" | awk -v k="$1:" '$1 == k { print $2 }'; }
# CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7), CAP_NET_ADMIN (12): what
# the units' CapabilityBoundingSet= allows and the listener keeps (CAP_KILL
# ends workers, which run as their requesters, at their deadlines).
for k in CapPrm CapEff CapBnd; do
	check_eq "broker $k: exactly CAP_NET_ADMIN CAP_SETUID CAP_SETGID CAP_KILL" 00000000000010e0 "$(capline $k)"
done
check_eq "broker CapInh: none" 0000000000000000 "$(capline CapInh)"
check_eq "broker CapAmb: none" 0000000000000000 "$(capline CapAmb)"
check_eq "broker NoNewPrivs" 1 "$(capline NoNewPrivs)"
# Room for its 2048 connections, 4096 workers' channels, 64 more, and the
# queues of the taps being made (max-requests 64 x max-queues, the CPUs up
# to 16): raised by the broker itself, past systemd's 1024, through the
# unit's system call filter.
Q=$(nproc)
[ "$Q" -le 16 ] || Q=16
check_eq "broker's open files limit, raised by itself under the unit" $((2048 + 4096 + 64 + 64 * Q)) \
	"$(ct awk '/^Max open files/ { print $4 }' "/proc/$PID/limits")"

# ---- reload ----------------------------------------------------------------------
if ct systemctl reload ontap-broker.service 2>"$T/reload.err"; then
	pass "systemctl reload with a good ontap.conf: success"
else
	fail "systemctl reload with a good ontap.conf: success" "$(cat "$T/reload.err")"
fi
reloaded() { ct journalctl --no-pager -q -o cat -u ontap-broker | grep -q 'reloaded /etc/ontap/ontap.conf'; }
check "the broker says it reloaded" wait_for 50 reloaded
ct cp /etc/ontap/ontap.conf /root/ontap.conf.good
ct sh -c 'echo "deadline soon" >>/etc/ontap/ontap.conf'
bad=$(ct grep -c '' /etc/ontap/ontap.conf)
if ct systemctl reload ontap-broker.service 2>/dev/null; then
	fail "systemctl reload with a broken ontap.conf: fails"
else
	pass "systemctl reload with a broken ontap.conf: fails"
fi
check_has "the journal says which line" "/etc/ontap/ontap.conf:$bad:" \
	"$(ct journalctl --no-pager -q -o cat -u ontap-broker | tail -n 20)"
check_eq "the broker still runs, the same process" "active $PID" \
	"$(ct systemctl is-active ontap-broker.service) $(mainpid)"
check_match "and still grants" '^tap=tap' "$(request br0 || true)"
ct mv /root/ontap.conf.good /etc/ontap/ontap.conf

# syslog instead: the README says `journalctl -t' (the ident) finds every
# record there, whichever process sent it
ct sed -i 's/^log stderr$/log syslog/' /etc/ontap/ontap.conf
check "log syslog: reload" ct systemctl reload ontap-broker.service
wait_for 50 reloaded || true
# _TRANSPORT=syslog: the datagrams, not the stream stderr records also tagged so
tagged() {
	ct journalctl --no-pager -q -o cat -t ontap-broker _TRANSPORT=syslog 2>/dev/null |
		grep -c "verdict=$1 " || true
}
t0=$(tagged grant)
for i in $(seq 5); do request br0 >/dev/null || true; done
has_tagged() { [ "$(tagged grant)" -ge $((t0 + 5)) ]; }
wait_for 50 has_tagged || true
check_eq "log syslog: journalctl -t ontap-broker finds all 5 records, sent to syslog" 5 $(($(tagged grant) - t0))
ct sed -i 's/^log syslog$/log stderr/' /etc/ontap/ontap.conf
check "back to log stderr: reload" ct systemctl reload ontap-broker.service

# ---- stopping and restarting the socket and the service (PartOf=) ------------
inactive() { [ "$(ct systemctl is-active "$1" || true)" = inactive ]; }
ct systemctl stop ontap-broker.socket
check "stop the socket: the broker stops with it" wait_for 100 inactive ontap-broker.service
check "stop the socket: no socket file" ct test ! -e /run/ontap/broker.sock
check "start the socket again" ct systemctl start ontap-broker.socket
check_match "a request after it: granted" '^tap=tap' "$(request br0 || true)"
PID=$(mainpid)
check "restart the socket" ct systemctl restart ontap-broker.socket
check "restart the socket: the old broker is gone" wait_for 100 ct test ! -d "/proc/$PID"
check_match "a request after it: granted" '^tap=tap' "$(request br0 || true)"
PID=$(mainpid)
check "restart the service" ct systemctl restart ontap-broker.service
check_eq "restart the service: the socket stays" active "$(ct systemctl is-active ontap-broker.socket)"
check "restart the service: a new broker" test "$(mainpid)" != "$PID"
check_match "a request after it: granted" '^tap=tap' "$(request br0 || true)"
check "stop the service" ct systemctl --quiet stop ontap-broker.service
check_eq "stop the service: the socket stays" active "$(ct systemctl is-active ontap-broker.socket)"
check_match "a request after it starts the broker again: granted" '^tap=tap' "$(request br0 || true)"

# ---- Accept=yes: one broker per connection ---------------------------------
# The checks above started the broker about ten times in a few seconds:
# past systemd's default start limit (5 in 10 s), the next activation would
# fail the socket.  An admin going this fast resets the count the same way.
ct systemctl reset-failed ontap-broker.service ontap-broker.socket
check "switch to ontap-broker-inetd.socket" ct systemctl start ontap-broker-inetd.socket
check "ontap-broker.socket gives way (Conflicts=)" wait_for 100 inactive ontap-broker.socket
check "and its broker with it" wait_for 100 inactive ontap-broker.service
check_match "Accept=yes: a request granted" '^tap=tap' "$(request br0 || true)"
has_inetd() { [ "$(audit_count 'ontap-broker-inetd@*' grant)" -ge 1 ]; }
check "Accept=yes: its record under journalctl -u 'ontap-broker-inetd@*'" wait_for 50 has_inetd
check "switch back to ontap-broker.socket" ct systemctl start ontap-broker.socket
check_match "a request granted" '^tap=tap' "$(request br0 || true)"

# ---- reinstall (preinst upgrade, postrm upgrade) ----------------------------
if ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "$PKG" >"$T/re.log" 2>&1; then
	pass "apt-get install --reinstall"
else
	fail "apt-get install --reinstall" "$(tail -n 20 "$T/re.log")"
fi
check_eq "reinstall: one diversion, still by ontap" "diversion of $QBH to $QBH.qemu by ontap" \
	"$(ct dpkg-divert --list '*qemu-bridge-helper*')"
check_match "reinstall: a request granted" '^tap=tap' "$(request br0 || true)"
# an upgrade: the same package, repacked as a later version
dpkg-deb --raw-extract "$ONTAP_DEB" "$T/up"
sed -i 's/^Version: .*/&+up1/' "$T/up/DEBIAN/control"
UPV=$(sed -n 's/^Version: //p' "$T/up/DEBIAN/control")
dpkg-deb --root-owner-group --build "$T/up" "$R/srv/ontap-pkg/ontap-up.deb" >/dev/null
# the admin's choice survives it, as with dh_installsystemd's scripts
ct systemctl --quiet disable ontap-broker.socket
if ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /srv/ontap-pkg/ontap-up.deb >"$T/up.log" 2>&1; then
	pass "upgrade to $UPV"
else
	fail "upgrade to $UPV" "$(tail -n 20 "$T/up.log")"
fi
check_eq "upgrade: installed" "$UPV" "$(ct dpkg-query --showformat='${Version}' --show ontap)"
check_eq "upgrade: one diversion, still by ontap" "diversion of $QBH to $QBH.qemu by ontap" \
	"$(ct dpkg-divert --list '*qemu-bridge-helper*')"
check_eq "upgrade: the socket the admin disabled stays disabled" disabled \
	"$(ct systemctl is-enabled ontap-broker.socket || true)"
ct systemctl --quiet enable --now ontap-broker.socket
check_eq "the socket enabled again and listening" "enabled active" \
	"$(ct systemctl is-enabled ontap-broker.socket) $(ct systemctl is-active ontap-broker.socket)"
check_match "upgrade: a request granted" '^tap=tap' "$(request br0 || true)"
ct rm /srv/ontap-pkg/ontap-up.deb

# ---- lxc-user-nic: on the admin's opt-in only, and only with ontap-lxc-user-nic
LXC_NIC=/usr/libexec/lxc/lxc-user-nic
reconfigure() { ct env DEBIAN_FRONTEND=noninteractive dpkg-reconfigure ontap >/dev/null; }
lxc_diversion() { ct dpkg-divert --list "$LXC_NIC"; }
ct touch /etc/ontap/replace-lxc-user-nic
STANDIN=
if ! ct test -x /usr/libexec/ontap-lxc-user-nic; then
	check "opted in: dpkg-reconfigure ontap" reconfigure
	check_eq "opted in, but the package has no ontap-lxc-user-nic: nothing done" "" "$(lxc_diversion)"
	# The maintainer scripts' mechanics, with stand-ins for what this root
	# lacks: lxc's setuid helper (lxc is not installed) and a program at
	# ontap-lxc-user-nic's path (that client is not built on this branch).
	STANDIN=/usr/libexec/ontap-lxc-user-nic
	ct install -m 0755 /bin/true "$STANDIN"
fi
ct mkdir -p /usr/libexec/lxc
ct install -m 4755 /bin/false "$LXC_NIC"
LSHA=$(ct sha256sum "$LXC_NIC" | cut -d' ' -f1)
check "opted in: dpkg-reconfigure ontap" reconfigure
check_eq "opted in: lxc's helper diverted by ontap" \
	"diversion of $LXC_NIC to $LXC_NIC.lxc by ontap" "$(lxc_diversion)"
check_eq "opted in: $LXC_NIC is ontap-lxc-user-nic" /usr/libexec/ontap-lxc-user-nic \
	"$(ct readlink "$LXC_NIC")"
check_eq "opted in: lxc's moved aside, no setuid bit, kept so by a statoverride" \
	"755 root root 755 $LXC_NIC.lxc" \
	"$(ct stat -c %a "$LXC_NIC.lxc") $(ct dpkg-statoverride --list "$LXC_NIC.lxc")"
ct rm /etc/ontap/replace-lxc-user-nic
check "opted out: dpkg-reconfigure ontap" reconfigure
check_eq "opted out: no diversion" "" "$(lxc_diversion)"
check_eq "opted out: lxc's own helper back, setuid as it was" "$LSHA 4755" \
	"$(ct sha256sum "$LXC_NIC" | cut -d' ' -f1) $(ct stat -c %a "$LXC_NIC")"
check_eq "opted out: no statoverride left" "" "$(ct dpkg-statoverride --list "$LXC_NIC*" || true)"
# opted in again: remove must undo it too
ct touch /etc/ontap/replace-lxc-user-nic
reconfigure

# ---- remove: qemu's own helper back ----------------------------------------
if ct env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q ontap >"$T/rm.log" 2>&1; then
	pass "apt-get remove ontap"
else
	fail "apt-get remove ontap" "$(tail -n 20 "$T/rm.log")"
fi
check_eq "remove: qemu's own helper back (sha256)" "$QSHA" "$(ct sha256sum "$QBH" | cut -d' ' -f1)"
check "remove: no $QBH.qemu" ct test ! -e "$QBH.qemu"
check_eq "remove: no diversion by ontap" "" "$(ct dpkg-divert --list | grep ' by ontap$' || true)"
check_eq "remove: the admin's statoverride back, and the setuid bit with it" \
	"root root 4755 $QBH 4755" "$(ct dpkg-statoverride --list "$QBH") $(ct stat -c %a "$QBH")"
# (no procps in the container: /proc read directly)
check "remove: no broker running" ct sh -c \
	'n=0; for c in /proc/[0-9]*/comm; do x=$(cat "$c" 2>/dev/null) || continue; n=$((n + 1)); [ "$x" != ontap-broker ] || exit 1; done; [ $n -gt 1 ]'
check "remove: no socket" ct test ! -e /run/ontap/broker.sock
check "remove: the conffile stays until purge" ct test -f /etc/ontap/ontap.conf
check_eq "remove: lxc's own helper back, setuid as it was" "$LSHA 4755" \
	"$(ct sha256sum "$LXC_NIC" | cut -d' ' -f1) $(ct stat -c %a "$LXC_NIC")"
check_eq "remove: of qemu's and lxc's helpers, no statoverride but the admin's" "root root 4755 $QBH" \
	"$(ct dpkg-statoverride --list | grep -e qemu-bridge-helper -e lxc-user-nic)"
[ -z "$STANDIN" ] || ct rm "$STANDIN"

# ---- purge: nothing of ontap -----------------------------------------------
if ct env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ontap >"$T/purge.log" 2>&1; then
	pass "apt-get purge ontap"
else
	fail "apt-get purge ontap" "$(tail -n 20 "$T/purge.log")"
fi
check_eq "purge: dpkg knows no ontap" "" \
	"$(ct dpkg-query --showformat='${db:Status-Status}' --show ontap 2>/dev/null | grep -v '^not-installed$' || true)"
check_eq "purge: no diversion by ontap" "" "$(ct dpkg-divert --list | grep ' by ontap$' || true)"
check_eq "purge: no unit" "" "$(ct systemctl list-unit-files --no-legend 'ontap*')"
check_eq "purge: no file named ontap anywhere (but the .deb)" "" \
	"$(ct find / -xdev -path /proc -prune -o -path /srv/ontap-pkg -prune -o \
		-path /var/log/journal -prune -o -iname '*ontap*' -print)"
check "purge: no /etc/ontap, /var/lib/ontap or /run/ontap" \
	ct test ! -e /etc/ontap -a ! -e /var/lib/ontap -a ! -e /run/ontap
check_eq "purge: qemu's helper still there, unchanged" "$QSHA" "$(ct sha256sum "$QBH" | cut -d' ' -f1)"

# ---- systemd's presets: an admin's policy decides on a first install ------
ct mkdir -p /etc/systemd/system-preset
ct sh -c 'echo "disable ontap-broker.socket" >/etc/systemd/system-preset/10-test.preset'
if ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$PKG" >"$T/preset.log" 2>&1; then
	pass "install again, with a preset that disables the socket"
else
	fail "install again, with a preset that disables the socket" "$(tail -n 20 "$T/preset.log")"
fi
check_eq "preset: the socket neither enabled nor started" "disabled inactive" \
	"$(ct systemctl is-enabled ontap-broker.socket || true) $(ct systemctl is-active ontap-broker.socket || true)"
ct env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ontap >/dev/null 2>&1
ct rm /etc/systemd/system-preset/10-test.preset
check_eq "purged again: no diversion by ontap" "" "$(ct dpkg-divert --list | grep ' by ontap$' || true)"

# ---- over a by-hand replacement (the README's steps without the package) -
ct dpkg-divert --local --rename --divert "$QBH.qemu" --add "$QBH" >/dev/null
ct install -m 0755 /usr/local/bin/qemu-call "$QBH"
if ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$PKG" >"$T/local.log" 2>&1; then
	fail "over a local diversion: the install refuses"
else
	pass "over a local diversion: the install refuses"
fi
check_has "and says how to undo it" "dpkg-divert --rename --remove $QBH" "$(cat "$T/local.log")"
check_eq "the admin's local diversion untouched, qemu's helper aside" "local diversion of $QBH to $QBH.qemu $QSHA" \
	"$(ct dpkg-divert --list "$QBH") $(ct sha256sum "$QBH.qemu" | cut -d' ' -f1)"
ct rm "$QBH"
ct dpkg-divert --rename --remove "$QBH" >/dev/null
check_eq "undone as it says: qemu's helper back" "$QSHA" "$(ct sha256sum "$QBH" | cut -d' ' -f1)"

finish

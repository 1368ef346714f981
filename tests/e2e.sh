#!/bin/bash
# End-to-end test: the real callers, qemu and libvirt, run by an unprivileged
# user, get their taps through ontap-helper and ontap-broker, and a small
# Linux guest on the other end pings the host's side of the bridge.
#
#   usage: e2e.sh BUILD_DIR          (as root)
#
# On the host it installs what it needs (tests/e2e/deps.sh) and builds the
# guest into BUILD_DIR/e2e-guest (tests/e2e/build-guest.sh, cached); then it
# re-runs itself in new network and mount namespaces, where it makes a bridge
# br0 (198.18.0.1/24), a bridge br1 the ACL denies, two users, and runs the
# broker on its default socket, on a tmpfs over /run that only this mount
# namespace sees (libvirt's session daemon does not pass $ONTAP_SOCKET on).
# Everything it makes is removed by the EXIT trap; ONTAP_E2E_KEEP=1 keeps the
# temp dir (serial logs, qemu's stderr, the broker's log) for a post-mortem.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
E2E=$HERE/e2e

die() { printf 'e2e: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
[ "$(id -u)" -eq 0 ] ||
	die "must run as root: it installs packages and makes namespaces, bridges and users (try: sudo bash $0 $*)"
BUILD=$(realpath -e "$1")
for f in ontap-broker ontap-helper; do
	[ -x "$BUILD/$f" ] || die "not built: $BUILD/$f"
done

if [ -z "${ONTAP_E2E_INNER:-}" ]; then
	# what needs the network (apt) happens here, before unshare
	ONTAP_E2E_T0=$(date +%s)
	export ONTAP_E2E_T0
	bash "$E2E/deps.sh"
	bash "$E2E/build-guest.sh" "$BUILD/e2e-guest"
	ONTAP_E2E_INNER=1 exec unshare --mount --net --propagation private -- bash "$0" "$BUILD"
fi

# ==== from here on: in our own network and mount namespaces =================
[ "$(readlink /proc/self/ns/net)" != "$(readlink /proc/1/ns/net)" ] ||
	die "refusing to run in the host's network namespace"
mount --make-rprivate /
mount -t sysfs e2e-sysfs /sys                # /sys/class/net: our netns only
mount -t tmpfs -o mode=0755 e2e-run /run     # the broker's default socket dir
ip link set lo up
cd /

# ---- bookkeeping: every process, user and session made here is undone --------
PIDS=()      # started by us: stopped by pid at exit
USERS=()
SESSIONS=()  # libvirt session runtime dirs: their daemons are stopped at exit
T=""
PASSED=0
FAILED=0
TAG=oe2e$$

pass() { PASSED=$((PASSED + 1)); printf 'PASS: %s\n' "$1"; }
fail() {
	FAILED=$((FAILED + 1))
	printf 'FAIL: %s\n' "$1"
	shift
	local l
	for l in "$@"; do printf '      %s\n' "$l"; done
}
check_eq() { # WHAT WANT GOT
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want: $2" "got:  $3"; fi
}
log() { printf '# %s\n' "$*"; }
indent() { sed 's/^/      | /'; }

# wait_for and proc_gone come from lib.sh (sourced above); the rest of the
# helpers here differ from lib.sh's (a suite of its own, with its own log).

# stop_pid PID: TERM, up to 5 s, then KILL, up to 5 s; reaps our children.
stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	wait_for 50 proc_gone "$1" || kill -KILL "$1" 2>/dev/null
	wait_for 50 proc_gone "$1"
	wait "$1" 2>/dev/null || true
}

# stop_session RUNDIR: the qemu, libvirtd and virtlogd of a libvirt session,
# by the pids in their pidfiles (they are not our children)
stop_session() {
	local f pid
	for f in "$1"/libvirt/qemu/run/*.pid "$1/libvirt/libvirtd.pid" "$1/libvirt/virtlogd.pid"; do
		[ -s "$f" ] || continue
		pid=$(cat "$f")
		[[ $pid =~ ^[0-9]+$ ]] && stop_pid "$pid"
	done
}

# forget_pid PID: once stopped, so the exit trap never signals a reused pid
forget_pid() {
	local keep=() p
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

cleanup() {
	local rc=$? i
	set +e
	for ((i = ${#SESSIONS[@]} - 1; i >= 0; i--)); do stop_session "${SESSIONS[i]}"; done
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
	for i in "${USERS[@]}"; do
		# a process of the user may still be exiting; the last try says why
		wait_for 30 userdel "$i" 2>/dev/null || userdel "$i"
		! getent group "$i" >/dev/null || groupdel "$i"
	done
	! getent group "${TAG}g" >/dev/null || groupdel "${TAG}g"
	if [ -n "$T" ] && [ -n "${ONTAP_E2E_KEEP:-}" ]; then
		log "kept $T (ONTAP_E2E_KEEP)"
	elif [ -n "$T" ]; then
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

T=$(mktemp -d /tmp/ontap-e2e.XXXXXX)
chmod 0755 "$T"

# ---- users: ALICE may read bridge.conf (group G), BOB may not ---------------
G=${TAG}g
ALICE=${TAG}a
BOB=${TAG}b
groupadd "$G"
for u in "$ALICE" "$BOB"; do
	opt=()
	[ "$u" != "$ALICE" ] || opt=(--groups "$G")
	useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--user-group "${opt[@]}" "$u"
	USERS+=("$u")
	# a temp HOME and XDG_RUNTIME_DIR of their own, as a login would give
	install -d -m 0755 -o "$u" -g "$u" "$T/$u"
	install -d -m 0700 -o "$u" -g "$u" "$T/$u/home" "$T/$u/run"
done

# as_user USER SECS CMD...: CMD as USER (uid, gid, groups from /etc/group),
# with a login-like environment only, killed after SECS
as_user() {
	local u=$1 secs=$2
	shift 2
	timeout -k 5 "$secs" setpriv --reuid "$u" --regid "$u" --init-groups -- \
		env -i PATH=/usr/local/bin:/usr/bin:/bin USER="$u" LOGNAME="$u" \
		HOME="$T/$u/home" XDG_RUNTIME_DIR="$T/$u/run" LC_ALL=C.UTF-8 "$@"
}

# ---- what the users run, where they may read it ------------------------------
install -d -m 0755 "$T/bin" "$T/guest"
install -m 0755 "$BUILD/ontap-helper" "$T/bin/ontap-helper"
guest_stage "$BUILD" "$T/guest"
HELPER=$T/bin/ontap-helper

# ---- network: in our netns only, IPv4 only -------------------------------------
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
# br0's MAC is set, so it does not follow its ports as they come and go, and
# a veth port keeps its carrier up between guests: the host's neighbour entry
# for a guest then outlives the guest's tap, and is checked after it
ip link add br0 address 02:00:c6:12:00:01 type bridge
ip addr add 198.18.0.1/24 dev br0
ip link add br0keep type veth peer name br0keepp
ip link set br0keepp up
ip link set br0keep master br0 up
ip link set br0 up
ip link add br1 type bridge
ip addr add 198.18.1.1/24 dev br1
ip link set br1 up

# ---- policy and broker -------------------------------------------------------
ACL=$T/acl/bridge.conf
install -d -m 0755 "$T/acl"
printf '%s\n' '# ontap e2e test' 'allow br0' 'allow brnone' 'deny br1' >"$ACL"
chown "root:$G" "$ACL"
chmod 0640 "$ACL"
SOCK=$(sed -n 's/^ONTAP_SOCKET_PATH:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)
SOCK=${SOCK:-/run/ontap/broker.sock}
case $SOCK in
/run/*) ;;
*) die "the broker's default socket $SOCK is not under /run, which this test shadows" ;;
esac
BLOG=$T/broker.log
BROKER_PID=
start_broker() {
	# no --socket: the default, the one libvirt's helper will find
	"$BUILD/ontap-broker" --acl "$ACL" 2>>"$BLOG" &
	BROKER_PID=$!
	PIDS+=("$BROKER_PID")
	wait_for 100 test -S "$SOCK" || { cat "$BLOG" >&2; die "ontap-broker made no $SOCK in 10 s"; }
}
# shellcheck disable=SC2119 # our own start_broker, not lib.sh's
start_broker

# ---- the accelerator: KVM only if the test user can boot the guest with it
guest_accel "$ALICE" "$T/$ALICE/kvm-probe" "$T/guest"

QEMU_VERSION=$(qemu-system-x86_64 --version | head -n 1)
LIBVIRT_VERSION=$(libvirtd --version)
log "qemu:    $QEMU_VERSION (package $(dpkg-query -W -f='${Version}' qemu-system-x86)), accel $ACCEL ($KVM_NOTE)"
log "libvirt: $LIBVIRT_VERSION (package $(dpkg-query -W -f='${Version}' libvirt-daemon))"
log "guest:   kernel $(cat "$BUILD/e2e-guest/kernel-version"), busybox $(cat "$BUILD/e2e-guest/busybox-version")"
log "users:   $ALICE (in $G, may read $ACL), $BOB (may not)"

GUEST_ARGS="console=ttyS0 quiet panic=-1 ipv6.disable=1 ontap.ip=198.18.0.2/24 ontap.peer=198.18.0.1"

# qemu_argv SERIAL [KERNEL-ARGS]: sets QEMU to a small, headless guest
qemu_argv() {
	guest_qemu_argv "$T/guest" "$1" 1 "ontap.ip=198.18.0.2/24 ontap.peer=198.18.0.1 ${2:-}"
}

# ---- checks --------------------------------------------------------------------

count_taps() {
	local n=0 f
	for f in /sys/class/net/*/tun_flags; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}
taps_are() { [ "$(count_taps)" -eq "$1" ]; }
tap_on_br0() { ip -o link show master br0 2>/dev/null | grep -q ' tap[0-9]*:'; }

check_no_tap() {
	# a tap goes when its last fd closes; give the kernel a moment
	if wait_for 50 taps_are 0; then
		pass "$1: no tap left behind"
	else
		fail "$1: no tap left behind" "taps: $(ip -o link show type tun 2>/dev/null | cut -d: -f2 | tr '\n' ' ')"
	fi
}

blog_lines() { wc -l <"$BLOG"; }
# the broker's grant lines since line $1 of its log (any field order)
blog_grants() { audit_lines <(tail -n +"$(($1 + 1))" "$BLOG") | grep ' verdict=grant ' || true; }
# check_grant WHAT SINCE USER BRIDGE: one grant since line SINCE of the log,
# to USER, on BRIDGE, of a tap with a vnet header (qemu asks with --use-vnet)
check_grant() {
	local what="$1: the broker granted $3 one tap on $4 with a vnet header" uid new f ok=1
	uid=$(id -u "$3")
	new=$(blog_grants "$2")
	[ "$(printf '%s' "$new" | grep -c .)" -eq 1 ] || ok=0
	for f in " uid=$uid " " bridge=\"$4\"" " vnet_hdr=1( |$)" " tap=tap[0-9]+( |$)"; do
		printf '%s\n' "$new" | grep -Eq -- "$f" || ok=0
	done
	if [ "$ok" -eq 1 ]; then
		pass "$what (uid $uid, $(printf '%s\n' "$new" | grep -Eo 'tap=tap[0-9]+'))"
	else
		fail "$what (uid $uid)" "broker log since then:" "$(tail -n +"$(($2 + 1))" "$BLOG")"
	fi
}

# check_guest WHAT SERIAL: the guest said it pinged 198.18.0.1 over its NIC
check_guest() {
	local line
	line=$(grep -a 'ontap-guest: RESULT' "$2" 2>/dev/null | head -n 1 || true)
	case $line in
	*"RESULT PASS ping 198.18.0.1"*)
		pass "$1: the guest pinged 198.18.0.1 (${line#*RESULT PASS })" ;;
	*)
		fail "$1: the guest pinged 198.18.0.1" "serial console:" "$(grep -a ontap-guest "$2" 2>/dev/null | tail -n 8)" ;;
	esac
}

# check_neigh WHAT MAC: the host side learnt 198.18.0.2 on br0 at the
# guest's MAC, i.e. the ping crossed the bridge from this guest's NIC
check_neigh() {
	local n
	n=$(ip neigh show 198.18.0.2 dev br0)
	if printf '%s\n' "$n" | grep -qi "lladdr $2"; then
		pass "$1: br0 learnt 198.18.0.2 at the guest's MAC $2"
	else
		fail "$1: br0 learnt 198.18.0.2 at the guest's MAC $2" "ip neigh: $n"
	fi
}

guest_said() { grep -aq "ontap-guest: $2" "$1" 2>/dev/null; }

# ---- 1-3: qemu boots the guest with a netdev that runs ontap-helper ----------

# boot_qemu WHAT MAC NETDEV DIRNAME: boots the guest as ALICE and waits for
# it to power off (at most 90 s; TCG takes a few)
boot_qemu() {
	local what=$1 mac=$2 netdev=$3 dir=$T/$ALICE/$4 rc=0 since t0
	install -d -m 0755 -o "$ALICE" -g "$ALICE" "$dir"
	ip neigh flush dev br0
	since=$(blog_lines)
	qemu_argv "$dir/serial.log"
	log "$what: ${QEMU[0]} ... -netdev $netdev -device virtio-net-pci,netdev=n0,mac=$mac"
	t0=$SECONDS
	as_user "$ALICE" 90 "${QEMU[@]}" -netdev "$netdev" \
		-device "virtio-net-pci,netdev=n0,mac=$mac" >"$dir/qemu.out" 2>"$dir/qemu.err" || rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$what: qemu ran the guest to its poweroff and exited 0 ($((SECONDS - t0)) s)"
	else
		fail "$what: qemu ran the guest to its poweroff and exited 0" "exit $rc after $((SECONDS - t0)) s, stderr:" "$(cat "$dir/qemu.err")"
	fi
	check_guest "$what" "$dir/serial.log"
	check_grant "$what" "$since" "$ALICE" br0
	check_neigh "$what" "$mac"
	check_no_tap "$what"
}

boot_qemu "qemu exec form" 52:54:00:18:00:01 \
	"bridge,id=n0,br=br0,helper=$HELPER" exec
# A helper with a space is run as /bin/sh -c "HELPER --use-vnet --fd=N",
# qemu leaving its own --br= out because the string has one: so the string's
# br0 must win over the netdev's br1 (which the ACL denies).
boot_qemu "qemu shell form" 52:54:00:18:00:02 \
	"bridge,id=n0,br=br1,helper=$HELPER --br=br0" shell
boot_qemu "qemu -netdev tap,helper=" 52:54:00:18:00:03 \
	"tap,id=n0,br=br0,helper=$HELPER" tap

# ---- 3b: hot-plug through the monitor, then hot-unplug -----------------------
# mon_errors FILE: the HMP monitor's error lines (its echo of what we typed
# is a mess of terminal escapes, so only these are worth showing)
mon_errors() { tr -d '\r' <"$1" | grep -a '^Error' || true; }
# mon_send FD LINE...: to qemu's monitor; a qemu gone early is not our SIGPIPE
mon_send() {
	local fd=$1
	shift
	(printf '%s\n' "$@" >&"$fd") 2>/dev/null || true
}
hotplug() {
	local what="qemu hot-plug" mac=52:54:00:18:00:04 dir=$T/$ALICE/hotplug qpid mon rc since
	install -d -m 0755 -o "$ALICE" -g "$ALICE" "$dir"
	mkfifo -m 0600 "$dir/monitor.in"
	ip neigh flush dev br0
	since=$(blog_lines)
	qemu_argv "$dir/serial.log" "ontap.wait=90 ontap.hold=60"
	log "$what: ${QEMU[0]} ... (no NIC) -monitor stdio, then netdev_add + device_add"
	as_user "$ALICE" 180 "${QEMU[@]}" -monitor stdio \
		<"$dir/monitor.in" >"$dir/monitor.out" 2>"$dir/qemu.err" &
	qpid=$!
	PIDS+=("$qpid")
	exec {mon}>"$dir/monitor.in"   # the child's open of the FIFO returns now

	if ! wait_for 900 guest_said "$dir/serial.log" READY; then
		fail "$what: the guest booted without a NIC and waits for one" "serial console:" "$(tail -n 5 "$dir/serial.log")" "qemu:" "$(cat "$dir/qemu.err")"
	else
		pass "$what: the guest booted without a NIC and waits for one"
		mon_send "$mon" "netdev_add bridge,id=hp0,br=br0,helper=$HELPER" \
			"device_add virtio-net-pci,netdev=hp0,id=hpnic,mac=$mac"
		hp_settled() { tap_on_br0 || [ -n "$(mon_errors "$dir/monitor.out")" ]; }
		wait_for 300 hp_settled || true
		if ! tap_on_br0; then
			fail "$what: after netdev_add + device_add a tap is on br0" "monitor:" "$(mon_errors "$dir/monitor.out")" "qemu:" "$(cat "$dir/qemu.err")"
		else
			pass "$what: after netdev_add + device_add a tap is on br0 ($(ip -o link show master br0 | awk -F': ' '$2 ~ /^tap/ {print $2}'))"
			wait_for 900 guest_said "$dir/serial.log" RESULT || true
			check_guest "$what" "$dir/serial.log"
			check_grant "$what" "$since" "$ALICE" br0
			check_neigh "$what" "$mac"
			# netdev_del closes the tap fd whether or not the guest has let
			# go of the device yet
			mon_send "$mon" "device_del hpnic" "netdev_del hp0"
			if wait_for 200 taps_are 0; then
				pass "$what: after device_del + netdev_del the tap is gone while qemu runs"
			else
				fail "$what: after device_del + netdev_del the tap is gone while qemu runs" "monitor:" "$(mon_errors "$dir/monitor.out")"
			fi
			if proc_gone "$qpid"; then
				fail "$what: qemu still runs after the hot-unplug" "qemu:" "$(cat "$dir/qemu.err")"
			else
				pass "$what: qemu still runs after the hot-unplug"
			fi
		fi
		mon_send "$mon" quit
	fi
	exec {mon}>&-
	rc=0
	if wait_for 300 proc_gone "$qpid"; then
		wait "$qpid" || rc=$?
		check_eq "$what: qemu exited 0 on the monitor's quit" 0 "$rc"
	else
		fail "$what: qemu exited on the monitor's quit within 30 s"
	fi
	stop_pid "$qpid"
	forget_pid "$qpid"
	check_no_tap "$what"
	if [ -n "$(mon_errors "$dir/monitor.out")" ] || grep -Eq 'ontap-helper:|helper failed' "$dir/qemu.err"; then
		fail "$what: qemu's monitor and stderr report no error" "$(mon_errors "$dir/monitor.out")" "$(cat "$dir/qemu.err")"
	else
		pass "$what: qemu's monitor and stderr report no error"
	fi
}
hotplug

# ---- 4: libvirt's session daemon, as the user, with bridge_helper -----------
domain_xml() { # OUT NAME BRIDGE MAC SERIAL
	local type=qemu
	[ "$ACCEL" != kvm ] || type=kvm
	sed -e "s|@TYPE@|$type|" -e "s|@NAME@|$2|" -e "s|@BRIDGE@|$3|" -e "s|@MAC@|$4|" \
		-e "s|@SERIAL@|$5|" -e "s|@KERNEL@|$T/guest/vmlinuz|" \
		-e "s|@INITRD@|$T/guest/initrd.gz|" -e "s|@CMDLINE@|$GUEST_ARGS|" \
		"$E2E/domain.xml" >"$1"
	chmod 0644 "$1"
}

libvirt_setup() { # USER: bridge_helper in the user's own qemu.conf
	local u=$1 conf=$T/$1/home/.config/libvirt
	install -d -m 0700 -o "$u" -g "$u" "$T/$u/home/.config" "$conf"
	printf 'bridge_helper = "%s"\n' "$HELPER" >"$conf/qemu.conf"
	chown "$u:$u" "$conf/qemu.conf"
	SESSIONS+=("$T/$u/run")
}
virsh_as() { # USER OUT ERR ARGS...
	local u=$1 out=$2 err=$3
	shift 3
	# to files, not pipes: the session daemon virsh starts must not hold them
	as_user "$u" 120 virsh -q -c qemu:///session "$@" >"$out" 2>"$err"
}
domain_gone() { ! virsh_as "$1" /dev/null /dev/null domstate "$2"; }

libvirt_setup "$ALICE"
libvirt_setup "$BOB"

libvirt_boot() {
	local what="libvirt session" mac=52:54:00:18:00:05 dir=$T/$ALICE/libvirt since rc=0 t0
	install -d -m 0755 -o "$ALICE" -g "$ALICE" "$dir"
	domain_xml "$dir/domain.xml" ontap-e2e br0 "$mac" "$dir/serial.log"
	ip neigh flush dev br0
	since=$(blog_lines)
	log "$what: virsh -c qemu:///session create domain.xml (<interface type='bridge'>, bridge_helper = \"$HELPER\")"
	t0=$SECONDS
	virsh_as "$ALICE" "$dir/virsh.out" "$dir/virsh.err" create "$dir/domain.xml" || rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$what: virsh create started the transient domain ($((SECONDS - t0)) s, the session daemon's start included)"
	else
		fail "$what: virsh create started the transient domain" "exit $rc:" "$(cat "$dir/virsh.err")"
		return 0
	fi
	wait_for 900 guest_said "$dir/serial.log" RESULT || true
	check_guest "$what" "$dir/serial.log"
	check_grant "$what" "$since" "$ALICE" br0
	check_neigh "$what" "$mac"
	if wait_for 300 domain_gone "$ALICE" ontap-e2e; then
		pass "$what: the domain went away when the guest powered off"
	else
		fail "$what: the domain went away when the guest powered off"
		virsh_as "$ALICE" /dev/null /dev/null destroy ontap-e2e || true
	fi
	check_no_tap "$what"
}
libvirt_boot

# ---- 5: refusals ---------------------------------------------------------------

# qemu_refused WHAT USER BRIDGE MESSAGE: qemu fails fast with ontap's MESSAGE
qemu_refused() {
	local what="refusal, qemu: $1" u=$2 br=$3 msg=$4 dir rc=0 t0 dt
	dir=$T/$u/refuse-qemu-$br
	install -d -m 0755 -o "$u" -g "$u" "$dir"
	qemu_argv "$dir/serial.log"
	t0=$(date +%s%N)
	as_user "$u" 60 "${QEMU[@]}" -netdev "bridge,id=n0,br=$br,helper=$HELPER" \
		-device virtio-net-pci,netdev=n0 >"$dir/qemu.out" 2>"$dir/qemu.err" || rc=$?
	dt=$((($(date +%s%N) - t0) / 1000000))
	if [ "$rc" -ne 0 ] && [ "$rc" -lt 124 ] && [ "$dt" -lt 10000 ]; then
		pass "$what: qemu exited $rc in $dt ms"
	else
		fail "$what: qemu exits non-zero within 10 s" "exit $rc after $dt ms"
	fi
	if grep -Fq "ontap-helper: $msg" "$dir/qemu.err"; then
		pass "$what: qemu's stderr says \"ontap-helper: $msg...\""
	else
		fail "$what: qemu's stderr says \"ontap-helper: $msg...\"" "stderr:" "$(cat "$dir/qemu.err")"
	fi
	log "qemu's stderr:"
	indent <"$dir/qemu.err"
	if guest_said "$dir/serial.log" kernel; then
		fail "$what: the guest never started" "$(head -n 3 "$dir/serial.log")"
	fi
	check_no_tap "$what"
}

# libvirt_refused WHAT USER BRIDGE MESSAGE: virsh create fails with
# "stderr=ontap-helper: MESSAGE" in libvirt's error.
# libvirt 9.0 (qemuCreateInBridgePortWithHelper) collects the helper's stderr
# in its event-loop thread, but builds the error as soon as its worker reads
# EOF on the fd socket: when the helper exits right after writing, the error
# sometimes has no stderr= at all (a few % of tries on a busy machine).  So
# up to 5 tries, each counted; every one must fail, one must carry the text.
libvirt_refused() {
	local what="refusal, libvirt: $1" u=$2 br=$3 msg=$4 dir rc try lost=0 ok=0 bad=0 codes=""
	dir=$T/$u/refuse-libvirt-$br
	install -d -m 0755 -o "$u" -g "$u" "$dir"
	domain_xml "$dir/domain.xml" "ontap-e2e-$br" "$br" 52:54:00:18:00:99 "$dir/serial.log"
	for try in 1 2 3 4 5; do
		rc=0
		virsh_as "$u" "$dir/virsh.out" "$dir/virsh.err" create "$dir/domain.xml" || rc=$?
		codes="$codes $rc"
		[ "$rc" -ne 0 ] && [ "$rc" -lt 124 ] || bad=1   # 124+: timeout, signal
		if [ "$rc" -eq 0 ]; then
			virsh_as "$u" /dev/null /dev/null destroy "ontap-e2e-$br" || true
			break
		fi
		if grep -Fq "stderr=ontap-helper: $msg" "$dir/virsh.err"; then
			ok=1
			break
		fi
		lost=$((lost + 1))
		cp "$dir/virsh.err" "$dir/virsh.err.$try"
	done
	if [ "$bad" -eq 0 ]; then
		pass "$what: virsh create failed (exit$codes)"
	else
		fail "$what: virsh create fails" "exits:$codes" "$(cat "$dir/virsh.err")"
	fi
	if [ "$ok" -eq 1 ]; then
		pass "$what: libvirt's error says \"stderr=ontap-helper: $msg...\""
	else
		fail "$what: libvirt's error says \"stderr=ontap-helper: $msg...\"" "virsh:" "$(cat "$dir/virsh.err")"
	fi
	[ "$lost" -eq 0 ] ||
		log "libvirt left the helper's stderr out of its error $lost time(s) before that (its race, see above):" \
			"$(grep -h 'failed to communicate' "$dir"/virsh.err.* | head -n 1)"
	log "virsh's error:"
	indent <"$dir/virsh.err"
	if domain_gone "$u" "ontap-e2e-$br"; then
		pass "$what: no domain left"
	else
		fail "$what: no domain left"
		virsh_as "$u" /dev/null /dev/null destroy "ontap-e2e-$br" || true
	fi
	check_no_tap "$what"
}

refused() { # WHAT USER BRIDGE MESSAGE
	qemu_refused "$@"
	libvirt_refused "$@"
}

refused "bridge the ACL denies" "$ALICE" br1 "access denied by acl file"
refused "user who cannot read bridge.conf" "$BOB" br0 "failed to parse default acl file \`$ACL'"
refused "bridge that does not exist" "$ALICE" brnone "failed to get mtu of bridge \`brnone': No such device"

stop_pid "$BROKER_PID"
forget_pid "$BROKER_PID"
if [ -e "$SOCK" ]; then
	log "the stopped broker left $SOCK behind"
fi
refused "broker not running" "$ALICE" br0 "cannot reach ontap-broker at \`$SOCK'"

log "the broker's log:"
indent <"$BLOG"
log "e2e wall time: $(($(date +%s) - ONTAP_E2E_T0)) s (deps check and guest build included); qemu: $QEMU_VERSION; libvirt: $LIBVIRT_VERSION"
printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]

#!/bin/bash
# The production broker as a user would run it, with the real programs from
# Debian, in its own mount and network namespaces and with users made for
# the test.  Two parts, each a ctest of its own:
#
#   modes   standalone and --daemon --pidfile; --inetd under s6-ipcserver,
#           s6-ipcserver-socketbinder + s6-ipcserverd, ucspi-unix's
#           unixserver, systemd-socket-activate --accept --inetd, and a
#           parent's socketpair (pairparent); systemd-socket-activate
#           without --accept (LISTEN_FDS); readiness (NOTIFY_SOCKET, and
#           --ready-fd as s6-supervise's notification-fd); SIGTERM with a
#           request in flight; SIGHUP; least privilege (the capability sets
#           of the broker and of a worker, a non-root broker given its
#           capabilities by its supervisor, a broker missing one);
#           --socket-mode and --socket-group.  What a super-server puts in
#           the environment (IPCREMOTEEUID=0, UNIXREMOTEEUID=0) is set to lie:
#           identity must come from the socket alone.
#   limits  ontap.conf's deadline (a silent client, an include that is a
#           FIFO), max-requests-per-user and max-requests, tap quotas (user,
#           group, default; across a restart; taps made persistent or given
#           to another owner; the maker's ledger of taps closed, deleted by
#           root, made by an --inetd instance, or whose notifications were
#           lost), the orphan reaper, acl-semantics last-match against
#           deny-wins, the audit record, syslog (facility, ident, priority,
#           through a /dev/log of our own), --list and --check.
#
#   usage: production.sh BUILD_DIR [modes|limits]...   (as root; default: both;
#          installs s6 and ucspi-unix when missing)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

[ $# -ge 1 ] || die "usage: $0 BUILD_DIR [modes|limits]..."
require_root
BUILD=$(realpath -e "$1")
PARTS=("${@:2}")
[ ${#PARTS[@]} -gt 0 ] || PARTS=(modes limits)
for p in "${PARTS[@]}"; do
	case $p in
	modes | limits) ;;
	*) die "unknown part \`$p' (modes, limits)" ;;
	esac
done

# install_missing PKG:COMMAND...: Debian's packages for the commands that are
# missing; before the test netns is entered, since it has no network
install_missing() {
	local want missing=()
	for want in "$@"; do
		command -v "${want#*:}" >/dev/null || missing+=("${want%%:*}")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		[ -z "${ONTAP_TEST_NS:-}" ] || die "still missing: ${missing[*]}"
		echo "# installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		# another test may be installing too: wait for dpkg's lock
		{ apt-get -o DPkg::Lock::Timeout=180 update -qq &&
			apt-get -o DPkg::Lock::Timeout=180 install -y -qq --no-install-recommends "${missing[@]}"; } \
			>/dev/null || die "cannot install ${missing[*]}"
	fi
}
# the supervisors; limits needs nothing beyond what lib.sh does
case " ${PARTS[*]} " in
*" modes "*)
	install_missing s6:s6-ipcserver s6:s6-supervise ucspi-unix:unixserver \
		systemd:systemd-socket-activate
	;;
esac

enter_test_ns "$@"
init_test_env
START=$SECONDS

# copies in a 0755 dir, so the test users and the service user can run them
stage_binaries "$BUILD" ontap-broker tests/pairparent
BROKER=$BIN/ontap-broker PP=$BIN/pairparent

# ---- users: alice, carol, dave in NET and QG; eve in NET; bob in neither;
# SVC runs a broker
G_NET=${ONTAP_TAG}n G_QG=${ONTAP_TAG}q
ALICE=${ONTAP_TAG}alice BOB=${ONTAP_TAG}bob CAROL=${ONTAP_TAG}carol DAVE=${ONTAP_TAG}dave
EVE=${ONTAP_TAG}eve SVC=${ONTAP_TAG}svc
add_group "$G_NET"
add_group "$G_QG"
add_user "$ALICE" "$G_NET,$G_QG"
add_user "$BOB"
add_user "$CAROL" "$G_NET,$G_QG"
add_user "$DAVE" "$G_NET,$G_QG"
add_user "$EVE" "$G_NET"
# a dedicated system user, as a package would make for the service
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
	--user-group "$SVC"
ONTAP_USERS+=("$SVC")
A_UID=$(id -u "$ALICE") B_UID=$(id -u "$BOB") C_UID=$(id -u "$CAROL") E_UID=$(id -u "$EVE")
NET_GID=$(getent group "$G_NET" | cut -d: -f3) QG_GID=$(getent group "$G_QG" | cut -d: -f3)

make_bridge br0 1500 198.18.0.1/24
make_bridge br1 1500 198.18.1.1/24
make_bridge br2 1500 198.18.2.1/24

# Debian's udev rule makes /dev/net/tun 0666, which a non-root broker needs;
# where this machine's is stricter, a 0666 node is bind-mounted over it in
# our mount namespace only.
tun_node_0666

# the usual policy: NET may use br0, and brnone, which does not exist
ACL=$T/acl
mkdir -m 0755 "$ACL"
put_file "$ACL/bridge.conf" root:root 0644 <<<"include $ACL/net.conf"
put_file "$ACL/net.conf" "root:$G_NET" 0640 <<<$'allow br0\nallow brnone'
# for SIGHUP: deny-wins refuses br0 here, last-match allows it
put_file "$ACL/order.conf" root:root 0644 <<<$'deny all\nallow br0'
MAIN=$ACL/bridge.conf
# brokers are never left to find the machine's own /etc/ontap/ontap.conf
EMPTY=$T/empty.conf
: >"$EMPTY"

# CAP_NET_ADMIN (12), CAP_SETUID (7), CAP_SETGID (6), CAP_KILL (5)
WANT=$(printf '%016x' $(((1 << 12) | (1 << 7) | (1 << 6) | (1 << 5))))
NET_ADMIN=$(printf '%016x' $((1 << 12)))
NONE=0000000000000000

# ---- helpers ------------------------------------------------------------

# bg OUT LOG SOCK CMD...: CMD in the background, stdout to OUT, stderr to
# LOG; BPID is CMD's own pid; returns once SOCK exists (or 10 s passed).
bg() {
	local out=$1 logf=$2 sock=$3
	shift 3
	"$@" >"$out" 2>>"$logf" &
	BPID=$!
	ONTAP_PIDS+=("$BPID")
	wait_for 100 test -S "$sock" || true
}

# broker NAME [ARGS...]: ontap-broker --socket $T/NAME.sock ARGS, logging to
# $T/NAME.log; S, L and BPID
broker() {
	local name=$1
	shift
	S=$T/$name.sock L=$T/$name.log
	# never the machine's own ontap.conf
	case " $* " in
	*" --config "*) ;;
	*) set -- --config "$EMPTY" "$@" ;;
	esac
	bg /dev/null "$L" "$S" "$BROKER" --socket "$S" "$@"
	[ -S "$S" ] || fail "broker $name: listening within 10 s" "$(cat "$L")"
}

# conf NAME < LINES: an ontap.conf at $T/NAME.conf, its path in CONF
conf() {
	CONF=$T/$1.conf
	cat >"$CONF"
}

# term_wait PID: SIGTERM, at most 10 s, then SIGKILL; RC_STOP is its exit status
term_wait() {
	kill -TERM "$1" 2>/dev/null || true
	wait_for 100 proc_gone "$1" || kill -KILL "$1" 2>/dev/null || true
	RC_STOP=0
	wait "$1" 2>/dev/null || RC_STOP=$?
	forget_pid "$1"
}

# end PID: stop a process we started, whatever its status
end() { stop_and_forget "$1"; }

# ask LABEL SOCK USER BRIDGE [QEMU-CALL OPTIONS], and its two outcomes:
# lib.sh's, under the short names this suite uses
ask() { helper_ask "$@"; }
granted() { helper_granted "$@"; }
refused() { helper_refused "$@"; }

# hold LABEL SOCK USER BRIDGE [QEMU-CALL OPTIONS]: a client that keeps its
# tap until `unhold LABEL'; TAP once it has one
declare -A HPID HFD
hold() {
	local label=$1 sock=$2 user=$3 br=$4 fd
	shift 4
	mkfifo -m 0600 "$T/$label.fifo"
	spawn_as "$T/$label.fifo" "$T/$label.out" "$T/$label.err" "$user" init \
		env ONTAP_SOCKET="$sock" "$QC" --hold -1 "$@" "$HELPER" "$br"
	HPID[$label]=$SPAWN_PID
	exec {fd}>"$T/$label.fifo"
	HFD[$label]=$fd
	wait_for 100 test -s "$T/$label.out" || true
	TAP=$(sed -n 's/^tap=\([^ ]*\) .*/\1/p' "$T/$label.out")
	check_match "$label: holds a tap on $br" '^tap[0-9]+$' "$TAP"
	TAP=${TAP:-tap-none}
}

# stall LABEL SOCK USER: a client that connects and sends nothing until
# `unhold LABEL'
stall() {
	local fd
	mkfifo -m 0600 "$T/$1.fifo"
	spawn_as "$T/$1.fifo" "$T/$1.out" "$T/$1.err" "$3" init "$PP" --connect "$2" --wait-line -
	HPID[$1]=$SPAWN_PID
	exec {fd}>"$T/$1.fifo"
	HFD[$1]=$fd
	wait_for 100 grep -q '^connected$' "$T/$1.out" || true
}

unhold() {
	local fd=${HFD[$1]}
	(printf 'go\n' >&"$fd") 2>/dev/null || true
	exec {fd}>&-
	wait_for 100 proc_gone "${HPID[$1]}" || true
	end "${HPID[$1]}"
}

audit() { audit_lines "$1"; }
last_audit() { audit "$1" | tail -n 1; }
naudit() { audit "$1" | wc -l; }

# caps PID: its five capability sets, as "CapInh=... CapPrm=... ..."
caps() {
	awk '/^Cap(Inh|Prm|Eff|Bnd|Amb):/ { printf "%s%s=%s", s, substr($1, 1, 6), $2; s = " " }' \
		"/proc/$1/status" 2>/dev/null || true
}

children() { cat "/proc/$1/task/$1/children" 2>/dev/null || true; }
# workers PID [UID]: a listener's workers (of UID's): its children with
# another uid than its own (the other child, the maker, has the listener's)
workers() {
	local me
	me=$(awk '/^Uid:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 0
	ps -o pid= -o uid= --ppid "$1" 2>/dev/null |
		awk -v me="$me" -v u="${2:-}" '$2 != me && (u == "" || $2 == u) { print $1 }'
}
nworkers_is() { [ "$(workers "$1" | wc -w)" -eq "$2" ]; }
persistent() { [ $(($(cat "/sys/class/net/$1/tun_flags" 2>/dev/null || echo 0) & 0x800)) -ne 0 ]; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }

# ==== modes ===================================================================

standalone() {
	log "standalone: in the foreground with --pidfile; SIGTERM"
	broker fg --acl "$MAIN" --pidfile "$T/fg.pid"
	local p=$BPID
	check_eq "standalone: the pidfile names it" "$p" "$(cat "$T/fg.pid" 2>/dev/null || true)"
	ask fg-alice "$S" "$ALICE" br0
	granted fg-alice br0
	check_match "standalone: the grant is alice's" "verdict=grant uid=$A_UID gid=" "$(last_audit "$L")"
	ask fg-bob "$S" "$BOB" br0
	refused fg-bob "access denied by acl file"
	term_wait "$p"
	check_eq "standalone: SIGTERM: exit 0" 0 "$RC_STOP"
	check "standalone: socket removed" test ! -e "$S"
	check "standalone: pidfile removed" test ! -e "$T/fg.pid"
	check_eq "standalone: \`stopped' is the last line" "ontap-broker: stopped" "$(tail -n 1 "$L")"
}

daemon() {
	log "--daemon --pidfile"
	local s=$T/d.sock l=$T/d.log rc=0 p
	timeout -k 2 20 "$BROKER" --daemon --pidfile "$T/d.pid" --socket "$s" --config "$EMPTY" \
		--acl "$MAIN" 2>>"$l" || rc=$?
	check_eq "--daemon: returns 0" 0 "$rc"
	check "--daemon: listening when it returns" test -S "$s"
	p=$(cat "$T/d.pid" 2>/dev/null || true)
	if ! [[ $p =~ ^[0-9]+$ ]]; then
		fail "--daemon: the pidfile holds a pid" "got: $p"
		return
	fi
	ONTAP_PIDS+=("$p")
	check_eq "--daemon: the pidfile names a running broker" ontap-broker \
		"$(cat "/proc/$p/comm" 2>/dev/null || true)"
	check_eq "--daemon: a session leader" "$p" "$(ps -o sid= -p "$p" | tr -d ' ')"
	ask d-alice "$s" "$ALICE" br0
	granted d-alice br0
	kill -TERM "$p"
	check "--daemon: gone after SIGTERM" wait_for 100 proc_gone "$p"
	check "--daemon: pidfile removed" wait_for 30 test ! -e "$T/d.pid"
	check_has "--daemon: logs \`stopped'" "ontap-broker: stopped" "$(cat "$l")"
	end "$p"
}

# inetd_checks MODE SOCK LOG: alice granted and bob denied, each audited
# under the uid the kernel gives, whatever the environment claims
inetd_checks() {
	local mode=$1 sock=$2 logf=$3
	ask "$mode-alice" "$sock" "$ALICE" br0
	granted "$mode-alice" br0
	check_match "$mode: the grant is alice's, whatever the environment says" \
		"verdict=grant uid=$A_UID gid=$(id -g "$ALICE") groups=([0-9]+,)*$NET_GID(,[0-9]+)* pid=[0-9]+ " \
		"$(last_audit "$logf")"
	ask "$mode-bob" "$sock" "$BOB" br0
	refused "$mode-bob" "access denied by acl file"
	check_match "$mode: bob is denied as bob, whatever the environment says" \
		"verdict=deny uid=$B_UID " "$(last_audit "$logf")"
}

super_servers() {
	local s l
	log "s6-ipcserver -1 ... ontap-broker --inetd, with IPCREMOTEEUID=0 in its environment"
	s=$T/s6.sock l=$T/s6.log
	bg "$T/s6.ready" "$l" "$s" s6-ipcserver -1 -a 0666 "$s" \
		env IPCREMOTEEUID=0 IPCREMOTEEGID=0 "$BROKER" --inetd --config "$EMPTY" --acl "$MAIN"
	check "s6-ipcserver: -1 says it is ready" wait_for 50 test -s "$T/s6.ready"
	inetd_checks s6-ipcserver "$s" "$l"
	end "$BPID"

	log "s6-ipcserver-socketbinder + s6-ipcserverd ... ontap-broker --inetd"
	s=$T/s6d.sock l=$T/s6d.log
	bg /dev/null "$l" "$s" s6-ipcserver-socketbinder -a 0666 "$s" \
		s6-ipcserverd "$BROKER" --inetd --config "$EMPTY" --acl "$MAIN"
	ask s6d-alice "$s" "$ALICE" br0
	granted s6d-alice br0
	end "$BPID"

	log "ucspi-unix unixserver ... ontap-broker --inetd, with UNIXREMOTEEUID=0 in its environment"
	s=$T/ucspi.sock l=$T/ucspi.log
	bg /dev/null "$l" "$s" unixserver -p 0666 -- "$s" \
		env UNIXREMOTEEUID=0 UNIXREMOTEEGID=0 "$BROKER" --inetd --config "$EMPTY" --acl "$MAIN"
	inetd_checks unixserver "$s" "$l"
	end "$BPID"

	log "systemd-socket-activate --accept --inetd ... ontap-broker --inetd (Accept=yes)"
	s=$T/sa.sock l=$T/sa.log
	bg /dev/null "$l" "$s" systemd-socket-activate --accept --inetd -E IPCREMOTEEUID=0 -l "$s" \
		"$BROKER" --inetd --config "$EMPTY" --acl "$MAIN"
	chmod 0666 "$s"   # what the unit's SocketMode=0666 does
	inetd_checks socket-activate-accept "$s" "$l"
	end "$BPID"

	log "--inetd on something that is not a unix stream socket"
	local rc=0 err
	err=$(timeout -k 2 10 "$BROKER" --inetd --config "$EMPTY" --acl "$MAIN" </dev/null 2>&1) || rc=$?
	check_eq "--inetd on /dev/null: exit 1" 1 "$rc"
	check_has "--inetd on /dev/null: says why" "not a connected unix stream socket" "$err"

	log "systemd-socket-activate -l ... ontap-broker (Accept=no, LISTEN_FDS)"
	s=$T/sl.sock l=$T/sl.log
	bg /dev/null "$l" "$s" systemd-socket-activate -l "$s" "$BROKER" --config "$EMPTY" --acl "$MAIN"
	chmod 0666 "$s"
	# systemd-socket-activate execs the broker at the first connection
	ask sl-alice "$s" "$ALICE" br0
	granted sl-alice br0
	check_has "Accept=no: says it serves the passed socket" \
		"ontap-broker: listening on (socket activation, fd 3)" "$(cat "$l")"
	ask sl-bob "$s" "$BOB" br0
	refused sl-bob "access denied by acl file"
	term_wait "$BPID"
	check_eq "Accept=no: SIGTERM: exit 0" 0 "$RC_STOP"
	check "Accept=no: the socket, systemd's, is left in place" test -S "$s"
	rm -f "$s"
}

socketpair_parent() {
	log "a parent that made a socketpair runs ontap-broker --inetd on it"
	local p pfd rc=0 out tap
	mkfifo -m 0600 "$T/pair.fifo"
	"$PP" --hold br0 "$BROKER" --inetd --config "$EMPTY" --acl "$MAIN" \
		<"$T/pair.fifo" >"$T/pair.out" 2>"$T/pair.log" &
	p=$!
	ONTAP_PIDS+=("$p")
	exec {pfd}>"$T/pair.fifo"
	wait_for 100 grep -q '^broker exit=' "$T/pair.out" || true
	check_match "socketpair (root): granted" '^grant tap=tap[0-9]+ vnet_hdr=1 master=br0 ' \
		"$(head -n 1 "$T/pair.out")"
	check_eq "socketpair: the broker exits 0 once it answered" "broker exit=0" \
		"$(grep '^broker' "$T/pair.out" || true)"
	tap=$(sed -n 's/^grant tap=\([^ ]*\) .*/\1/p' "$T/pair.out")
	tap=${tap:-tap-none}
	check_eq "socketpair: the tap, held, is on br0" ../br0 "$(readlink "/sys/class/net/$tap/master" || true)"
	(printf 'done\n' >&"$pfd") 2>/dev/null || true
	exec {pfd}>&-
	wait "$p" || rc=$?
	forget_pid "$p"
	check_eq "socketpair: exit 0" 0 "$rc"
	check "socketpair: the tap is gone once closed" wait_for 30 link_gone "$tap"
	check_match "socketpair: the audit says root" 'verdict=grant uid=0 gid=0 ' "$(last_audit "$T/pair.log")"

	rc=0
	out=$("$PP" --as "$ALICE" br0 "$BROKER" --inetd --config "$EMPTY" --acl "$MAIN" \
		2>"$T/pair-alice.log") || rc=$?
	check_eq "socketpair as alice: granted" 0 "$rc"
	check_match "socketpair as alice: tap on br0, broker exit 0" \
		'^grant tap=tap[0-9]+ vnet_hdr=1 master=br0 .*broker exit=0 $' "$(printf '%s\n' "$out" | tr '\n' ' ')"
	check_match "socketpair as alice: audited with her uid and groups, and the parent's exe" \
		"verdict=grant uid=$A_UID gid=[0-9]+ groups=([0-9]+,)*$NET_GID(,[0-9]+)* pid=[0-9]+ exe=\"$PP\" " \
		"$(last_audit "$T/pair-alice.log")"

	rc=0
	out=$("$PP" --as "$BOB" --env IPCREMOTEEUID=0 --env UNIXREMOTEEUID=0 --env PROTO=UNIX \
		--env SUDO_UID=0 br0 "$BROKER" --inetd --config "$EMPTY" --acl "$MAIN" 2>"$T/pair-bob.log") || rc=$?
	check_eq "socketpair as bob, the environment claiming root: refused" 1 "$rc"
	check_match "socketpair as bob: the refusal is the acl's" \
		'^refuse errno=13 .*reason=access denied by acl file' "$out"
	check_match "socketpair as bob: audited as bob" "verdict=deny uid=$B_UID " \
		"$(last_audit "$T/pair-bob.log")"
}

readiness() {
	log "readiness: READY=1 on NOTIFY_SOCKET"
	local r rc=0 s l sv sup
	"$PP" --recv "$T/notify.sock" --count 1 --timeout 30 >"$T/notify.out" 2>>"$T/notify.err" &
	r=$!
	ONTAP_PIDS+=("$r")
	wait_for 100 test -S "$T/notify.sock" || true
	s=$T/n.sock l=$T/n.log
	bg /dev/null "$l" "$s" env NOTIFY_SOCKET="$T/notify.sock" \
		"$BROKER" --socket "$s" --config "$EMPTY" --acl "$MAIN"
	wait_for 150 proc_gone "$r" || true
	wait "$r" || rc=$?
	forget_pid "$r"
	check_eq "NOTIFY_SOCKET: one datagram came" 0 "$rc"
	check_eq "NOTIFY_SOCKET: READY=1 and the broker's MAINPID" "READY=1\\x0aMAINPID=$BPID" \
		"$(cat "$T/notify.out")"
	ask n-alice "$s" "$ALICE" br0
	granted n-alice br0
	end "$BPID"

	log "readiness: --ready-fd as s6-supervise's notification-fd"
	sv=$T/service/ontap-broker
	mkdir -p "$sv"
	s=$T/s6sv.sock l=$T/s6sv.log
	cat >"$sv/run" <<-EOF
		#!/bin/sh
		exec "$BROKER" --socket "$s" --config "$EMPTY" --acl "$MAIN" --ready-fd 5 2>>"$l"
	EOF
	chmod 0755 "$sv/run"
	echo 5 >"$sv/notification-fd"
	s6-supervise "$sv" >/dev/null 2>>"$T/s6-supervise.log" &
	sup=$!
	ONTAP_PIDS+=("$sup")
	# s6-svwait fails (111) on a service s6-supervise has not set up yet
	wait_for 100 test -d "$sv/event" -a -p "$sv/supervise/control" || true
	rc=0
	timeout -k 2 30 s6-svwait -U -t 20000 "$sv" || rc=$?
	check_eq "s6-svwait -U: up and ready" 0 "$rc"
	check "s6: listening once ready" test -S "$s"
	check_match "s6-svstat: ready" '^up \(pid [0-9]+\) .*ready' "$(s6-svstat "$sv" 2>&1)"
	ask s6sv-alice "$s" "$ALICE" br0
	granted s6sv-alice br0
	s6-svc -d "$sv"
	rc=0
	timeout -k 2 30 s6-svwait -D -t 20000 "$sv" || rc=$?
	check_eq "s6-svc -d: down" 0 "$rc"
	check_eq "s6-svstat: exit code 0 after SIGTERM" "false 0" "$(s6-svstat -o up,exitcode "$sv" 2>&1)"
	s6-svc -x "$sv"
	wait_for 100 proc_gone "$sup" || true
	end "$sup"
}

sigterm() {
	log "SIGTERM: stop accepting, finish what is in flight, exit 0"
	local p late fd rc=0
	# no orphan reaper: the broker's only children are its workers
	conf term <<<"reap-orphans no"
	broker term --config "$CONF" --acl "$MAIN"
	p=$BPID
	mkfifo -m 0600 "$T/inflight.fifo"
	spawn_as "$T/inflight.fifo" "$T/inflight.out" "$T/inflight.err" "$ALICE" init \
		"$PP" --connect "$S" --wait-line br0
	HPID[inflight]=$SPAWN_PID
	exec {fd}>"$T/inflight.fifo"
	HFD[inflight]=$fd
	wait_for 100 grep -q '^connected$' "$T/inflight.out" || true
	check "SIGTERM: the request in flight has its worker" wait_for 100 nworkers_is "$p" 1
	kill -TERM "$p"
	# a client that comes after SIGTERM: never served
	spawn_as /dev/null "$T/late.out" "$T/late.err" "$BOB" init "$PP" --connect "$S" --timeout 20 br0
	late=$SPAWN_PID
	sleep 1
	check "SIGTERM: still running while a request is in flight" kill -0 "$p"
	check_eq "SIGTERM: a client that came after it is not served" "" "$(cat "$T/late.out")"
	(printf 'go\n' >&"$fd") 2>/dev/null || true
	exec {fd}>&-
	wait "${HPID[inflight]}" || rc=$?
	forget_pid "${HPID[inflight]}"
	check_eq "SIGTERM: the request in flight completes" 0 "$rc"
	check_match "SIGTERM: ... with a tap on br0" '^grant tap=tap[0-9]+ vnet_hdr=1 master=br0 ' \
		"$(grep '^grant' "$T/inflight.out" || true)"
	wait_for 100 proc_gone "$p" || true
	term_wait "$p"
	check_eq "SIGTERM: exit 0 once done" 0 "$RC_STOP"
	check_eq "SIGTERM: logs \`stopped' last" "ontap-broker: stopped" "$(tail -n 1 "$L")"
	rc=0
	wait_for 100 proc_gone "$late" || true
	wait "$late" || rc=$?
	forget_pid "$late"
	check "SIGTERM: the late client got no tap (exit $rc)" test "$rc" -ne 0
	check_eq "SIGTERM: one audit record, the grant" "1 grant" \
		"$(naudit "$L") $(audit "$L" | sed -n 's/.* verdict=\([a-z]*\) .*/\1/p')"
}

sighup() {
	log "SIGHUP: ontap.conf read anew; a broken one keeps the old configuration"
	local p c=$T/hup.conf
	printf 'acl %s\nacl-semantics deny-wins\nreap-orphans no\n' "$ACL/order.conf" >"$c"
	broker hup --config "$c"
	p=$BPID
	ask hup-before "$S" "$ALICE" br0
	refused hup-before "access denied by acl file"
	printf 'acl %s\nacl-semantics last-match\nreap-orphans no\n' "$ACL/order.conf" >"$c"
	kill -HUP "$p"
	check "SIGHUP: logs \`reloaded'" wait_for 100 grep -q "reloaded $c" "$L"
	ask hup-after "$S" "$ALICE" br0
	granted hup-after br0
	# would refuse every request if any line of it were applied
	printf 'acl-semantics deny-wins\nmax-taps 0\nfrobnicate yes\n' >"$c"
	kill -HUP "$p"
	check "SIGHUP, broken file: logs \`reload failed'" wait_for 100 grep -q 'reload failed' "$L"
	check_has "SIGHUP, broken file: names the file and line" "$c:3:" "$(grep 'reload failed' "$L" || true)"
	check "SIGHUP, broken file: still running" kill -0 "$p"
	ask hup-broken "$S" "$ALICE" br0
	granted hup-broken br0
	# quotas turned on by a reload: their lock file's directory is made as at start
	printf 'acl %s\nacl-semantics last-match\nreap-orphans no\nmax-taps 5\nlock-file %s\n' \
		"$ACL/order.conf" "$T/hup-lock/quota.lock" >"$c"
	kill -HUP "$p"
	reloads_are() { [ "$(grep -c "reloaded $c" "$L")" -eq "$1" ]; }
	check "SIGHUP, quotas on: reloaded" wait_for 100 reloads_are 2
	ask hup-quota "$S" "$ALICE" br0
	granted hup-quota br0
	term_wait "$p"
	check_eq "SIGHUP: exit 0 on SIGTERM after the reloads" 0 "$RC_STOP"
}

privilege() {
	log "capabilities of a root broker and of its worker; --socket-mode 0660 --socket-group"
	local p w all="CapInh=$NONE CapPrm=$WANT CapEff=$WANT CapBnd=$WANT CapAmb=$NONE" run rc err
	local worker="CapInh=$NONE CapPrm=$NONE CapEff=$NONE CapBnd=$WANT CapAmb=$NONE"
	conf grp <<<"reap-orphans no"
	broker grp --config "$CONF" --acl "$MAIN" --socket-mode 0660 --socket-group "$G_NET"
	p=$BPID
	check_eq "root broker: exactly NET_ADMIN, SETUID, SETGID, KILL, the bounding set too" "$all" "$(caps "$p")"
	stall worker "$S" "$ALICE"
	wait_for 100 nworkers_is "$p" 1 || true
	w=$(workers "$p" | tr -d ' ')
	check_match "a worker serves the silent connection" '^[0-9]+$' "$w"
	# it became the requester before reading a byte of the request
	check_eq "worker: no capability, nothing inheritable or ambient" "$worker" \
		"$(caps "${w:-0}")"
	check_eq "worker: alice's uid, real, effective, saved and fs" \
		"$(id -u "$ALICE") $(id -u "$ALICE") $(id -u "$ALICE") $(id -u "$ALICE")" \
		"$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/${w:-0}/status" 2>/dev/null || true)"
	check_eq "worker: alice's gid, real, effective, saved and fs" \
		"$(id -g "$ALICE") $(id -g "$ALICE") $(id -g "$ALICE") $(id -g "$ALICE")" \
		"$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/${w:-0}/status" 2>/dev/null || true)"
	check_eq "worker: alice's supplementary groups" "$(id -G "$ALICE" | tr ' ' '\n' | sort -n | xargs)" \
		"$(awk '/^Groups:/ { for (i = 2; i <= NF; i++) print $i }' "/proc/${w:-0}/status" 2>/dev/null |
			sort -n | xargs)"
	# not dumpable: /proc/PID/environ stays root's, so alice (whose uid it
	# has) cannot read it, nor ptrace the worker
	check_match "worker: alice cannot read its memory" "Permission denied" \
		"$(setpriv --reuid "$ALICE" --regid "$(id -g "$ALICE")" --init-groups \
			cat "/proc/${w:-0}/environ" 2>&1 >/dev/null || true)"
	unhold worker
	check_eq "--socket-mode/--socket-group: the socket is 660, group NET" "660 $G_NET" \
		"$(stat -c '%a %G' "$S")"
	ask grp-bob "$S" "$BOB" br0
	refused grp-bob "cannot reach ontap-broker at \`$S'"
	check_has "grp-bob: ... Permission denied" "Permission denied" "$ERR"
	ask grp-alice "$S" "$ALICE" br0
	granted grp-alice br0
	end "$p"

	log "a non-root system user given the capabilities by its supervisor (setpriv, ambient)"
	build_clients_trusting "$SVC" "$HERE/.."
	SVC_BIN=$TRUSTING_BIN
	run=$T/svc-run
	mkdir -m 0755 "$run"
	chown "$SVC:$SVC" "$run"
	S=$run/broker.sock L=$T/svc.log
	# the default tap quota takes a lock file: where the service user may make it
	printf 'lock-file %s\n' "$run/quota.lock" >"$T/svc.conf"
	bg /dev/null "$L" "$S" setpriv --reuid "$SVC" --regid "$SVC" --init-groups \
		--inh-caps +net_admin,+setuid,+setgid,+kill --ambient-caps +net_admin,+setuid,+setgid,+kill \
		"$BROKER" --socket "$S" --config "$T/svc.conf" --acl "$MAIN"
	p=$BPID
	check "non-root broker: listens" test -S "$S"
	check_eq "non-root broker: runs as the service user" "$(id -u "$SVC")" \
		"$(awk '/^Uid:/ { print $3 }' "/proc/$p/status" 2>/dev/null || true)"
	check_match "non-root broker: exactly NET_ADMIN, SETUID, SETGID, KILL; nothing inheritable or ambient" \
		"^CapInh=$NONE CapPrm=$WANT CapEff=$WANT CapBnd=[0-9a-f]+ CapAmb=$NONE\$" "$(caps "$p")"
	# clients trust root only unless built for the broker's user (issue 12 item 5)
	ask svc-default "$S" "$ALICE" br0
	refused svc-default "refusing the server at \`$S': it runs as uid $(id -u "$SVC"), and ontap-broker must run as root (uid 0)"
	local helper=$HELPER
	HELPER=$SVC_BIN/ontap-helper
	ask svc-alice "$S" "$ALICE" br0
	granted svc-alice br0
	ask svc-bob "$S" "$BOB" br0
	refused svc-bob "access denied by acl file"
	HELPER=$helper
	term_wait "$p"
	check_eq "non-root broker: SIGTERM: exit 0" 0 "$RC_STOP"

	log "a broker missing a capability does not start"
	rc=0
	err=$(timeout -k 2 20 setpriv --bounding-set -net_admin "$BROKER" --socket "$T/nocap.sock" \
		--config "$EMPTY" --acl "$MAIN" 2>&1) || rc=$?
	check "root without CAP_NET_ADMIN in the bounding set: non-zero exit ($rc)" test "$rc" -ne 0
	check_has "root without CAP_NET_ADMIN: names it" "CAP_NET_ADMIN" "$err"
	check "root without CAP_NET_ADMIN: leaves no socket behind" test ! -e "$T/nocap.sock"
	rm -f "$T/nocap.sock"
	rc=0
	err=$(timeout -k 2 20 setpriv --reuid "$SVC" --regid "$SVC" --init-groups \
		--inh-caps +setuid,+setgid --ambient-caps +setuid,+setgid \
		"$BROKER" --socket "$run/nocap.sock" --config "$T/svc.conf" --acl "$MAIN" 2>&1) || rc=$?
	check "non-root, ambient without net_admin: non-zero exit ($rc)" test "$rc" -ne 0
	check_has "non-root, ambient without net_admin: names CAP_NET_ADMIN" "CAP_NET_ADMIN" "$err"
}

# ==== limits ==================================================================

deadline() {
	log "deadline 2: a silent client is dropped; an include that is a FIFO is refused at once"
	local p rc=0 out ms t0
	conf deadline <<-EOF
		deadline 2
		reap-orphans no
	EOF
	broker deadline --config "$CONF" --acl "$MAIN"
	p=$BPID
	out=$(run_as "$ALICE" init "$PP" --connect "$S" --timeout 20 -) || rc=$?
	check_eq "silent client: refused" 1 "$rc"
	check_match "silent client: told so within 1.5..3.5 s" \
		'^refuse errno=110 after_ms=(1[5-9]|2[0-9]|3[0-4])[0-9][0-9] reason=no complete request within 2 s$' "$out"
	check_match "silent client: the log says so" \
		"verdict=refuse uid=$A_UID .*reason=\"no complete request within 2 s\"" "$(last_audit "$L")"
	ask deadline-after "$S" "$ALICE" br0
	granted deadline-after br0
	end "$p"
	rc=0
	out=$("$PP" - "$BROKER" --inetd --config "$CONF" --acl "$MAIN" 2>"$T/deadline-inetd.log") || rc=$?
	check_eq "--inetd, silent client: refused" 1 "$rc"
	check_match "--inetd, silent client: within 1.5..3.5 s, and the broker exits 0" \
		'^refuse errno=110 after_ms=(1[5-9]|2[0-9]|3[0-4])[0-9][0-9] reason=no complete request within 2 s broker exit=0 $' \
		"$(printf '%s\n' "$out" | tr '\n' ' ')"

	mkdir -m 0755 "$T/fifo"
	mkfifo -m 0666 "$T/fifo/pipe"
	put_file "$T/fifo/bridge.conf" root:root 0644 <<-EOF
		allow br0
		include $T/fifo/pipe
	EOF
	broker fifo --config "$CONF" --acl "$T/fifo/bridge.conf"
	t0=$(ms_now)
	ask fifo-alice "$S" "$ALICE" br0
	ms=$(($(ms_now) - t0))
	refused fifo-alice "$T/fifo/pipe"
	check "include of a FIFO: refused within 1.5 s (took $ms ms)" test "$ms" -lt 1500
	check_match "include of a FIFO: logged, with the file and line" \
		"verdict=deny uid=$A_UID .*$T/fifo/bridge.conf:2: include \`$T/fifo/pipe'" "$(last_audit "$L")"
	check "include of a FIFO: the broker goes on" kill -0 "$BPID"
	end "$BPID"
}

bounds() {
	log "max-requests-per-user 2: a third request of alice's waits its turn, eve is served"
	local p rc
	conf peruser <<-EOF
		max-requests-per-user 2
		deadline 30
		reap-orphans no
	EOF
	broker peruser --config "$CONF" --acl "$MAIN"
	p=$BPID
	stall pu1 "$S" "$ALICE"
	stall pu2 "$S" "$ALICE"
	check "two silent connections of alice's: two workers" wait_for 100 nworkers_is "$p" 2
	spawn_as /dev/null "$T/pu3.out" "$T/pu3.err" "$ALICE" init env ONTAP_SOCKET="$S" "$QC" "$HELPER" br0
	HPID[pu3]=$SPAWN_PID
	ask pu-eve "$S" "$EVE" br0
	granted pu-eve br0
	check "alice's third request waits, unanswered" kill -0 "${HPID[pu3]}"
	check_eq "... with no worker of its own" 2 "$(workers "$p" "$A_UID" | wc -w)"
	unhold pu1
	wait_for 100 proc_gone "${HPID[pu3]}" || true
	rc=0
	wait "${HPID[pu3]}" || rc=$?
	forget_pid "${HPID[pu3]}"
	check_eq "alice's third request: served once one of hers ended" 0 "$rc"
	check_match "... with a tap on br0" '^tap=tap[0-9]+ .* master=br0 ' "$(cat "$T/pu3.out")"
	unhold pu2
	end "$p"

	log "max-requests 1: a second connection waits its turn, and is served once the first ends"
	conf global <<-EOF
		max-requests 1
		deadline 30
		reap-orphans no
	EOF
	broker global --config "$CONF" --acl "$MAIN"
	p=$BPID
	stall g1 "$S" "$ALICE"
	wait_for 100 nworkers_is "$p" 1 || true
	spawn_as /dev/null "$T/g2.out" "$T/g2.err" "$EVE" init env ONTAP_SOCKET="$S" "$QC" "$HELPER" br0
	HPID[g2]=$SPAWN_PID
	sleep 1.5
	check "max-requests 1: the second client still waits" kill -0 "${HPID[g2]}"
	check_eq "max-requests 1: ... unanswered, with no worker of its own" "1 " \
		"$(workers "$p" | wc -w) $(cat "$T/g2.out")"
	unhold g1
	wait_for 150 proc_gone "${HPID[g2]}" || true
	rc=0
	wait "${HPID[g2]}" || rc=$?
	forget_pid "${HPID[g2]}"
	check_eq "max-requests 1: served once the first ended" 0 "$rc"
	check_match "max-requests 1: ... with a tap on br0" '^tap=tap[0-9]+ .* master=br0 ' "$(cat "$T/g2.out")"
	end "$p"
}

quotas() {
	log "quotas: max-taps 1, user alice 2, group QG 3; kept across a restart"
	local p a1 a2 c1 pid line
	conf quota <<-EOF
		max-taps 1
		max-taps user $ALICE 2
		max-taps group $G_QG 3
		reap-orphans no
		lock-file $T/quota.lock
	EOF
	broker quota --config "$CONF" --acl "$MAIN"
	p=$BPID
	# four requests of eve's at once, each holding its tap 5 s: one tap
	local i pids=() ok=0
	for i in 1 2 3 4; do
		spawn_as /dev/null "$T/q-race$i.out" "$T/q-race$i.err" "$EVE" init \
			env ONTAP_SOCKET="$S" "$QC" --hold 5 "$HELPER" br0
		pids+=("$SPAWN_PID")
	done
	for i in "${pids[@]}"; do
		wait_for 150 proc_gone "$i" || true
		end "$i"
	done
	ok=$(cat "$T"/q-race[1-4].out | grep -c '^tap=' || true)
	check_eq "quota 1, four requests at once: one tap, three refusals" "1 3" \
		"$ok $(cat "$T"/q-race[1-4].err | grep -c 'tap quota reached' || true)"
	hold q-eve "$S" "$EVE" br0
	ask q-eve-2 "$S" "$EVE" br0
	refused q-eve-2 "tap quota reached"
	check_match "quota: the refusal is audited" \
		"verdict=refuse uid=$E_UID .*reason=\"tap quota reached: uid $E_UID has 1 of 1 taps\"" \
		"$(last_audit "$L")"
	term_wait "$p"
	broker quota --config "$CONF" --acl "$MAIN"
	p=$BPID
	ask q-eve-restart "$S" "$EVE" br0
	refused q-eve-restart "tap quota reached"
	unhold q-eve
	ask q-eve-after "$S" "$EVE" br0
	granted q-eve-after br0

	log "quotas: taps made persistent, or given to another owner, still count"
	ask q-alice-1 "$S" "$ALICE" br0 --persist
	granted q-alice-1 br0
	a1=${TAP:-tap-none}
	ask q-alice-2 "$S" "$ALICE" br0 --persist
	granted q-alice-2 br0
	a2=${TAP:-tap-none}
	check "quota: alice's persistent taps outlive their fds" persistent "$a1"
	check "quota: ... both" persistent "$a2"
	ask q-alice-3 "$S" "$ALICE" br0
	refused q-alice-3 "tap quota reached: uid $A_UID has 2 of 2 taps"
	ask q-carol-1 "$S" "$CAROL" br0 --persist --owner "$E_UID"
	granted q-carol-1 br0
	c1=${TAP:-tap-none}
	check_eq "quota: carol gave her tap to eve (TUNSETOWNER)" "$E_UID" \
		"$(cat "/sys/class/net/$c1/owner" 2>/dev/null || true)"
	ask q-carol-2 "$S" "$CAROL" br0
	refused q-carol-2 "tap quota reached: uid $C_UID has 1 of 1 taps"
	ask q-dave "$S" "$DAVE" br0
	refused q-dave "tap quota reached: group $QG_GID has 3 of 3 taps"
	hold q-eve-2 "$S" "$EVE" br0
	check "quota: the tap carol gave eve does not count against eve" test "$TAP" != tap-none

	log "--list: live taps with owner, bridge, pid, since"
	local list rc=0 t tap user label state
	list=$("$BROKER" --list 2>&1) || rc=$?
	check_eq "--list: exit 0" 0 "$rc"
	check_match "--list: a header" '^INTERFACE +BRIDGE +USER +PID +SINCE +STATE$' "$(head -n 1 <<<"$list")"
	for t in "$a1:$ALICE:q-alice-1:detached,persistent" "$a2:$ALICE:q-alice-2:detached,persistent" \
		"$c1:$CAROL:q-carol-1:detached,persistent" "$TAP:$EVE:q-eve-2:attached"; do
		IFS=: read -r tap user label state <<<"$t"
		pid=$(audit "$L" | grep -F "tap=$tap " | tail -n 1 | sed -n 's/.* pid=\([0-9]*\) .*/\1/p')
		line=$(grep -E "^$tap " <<<"$list" || true)
		check_match "--list: $label's $tap: bridge, owner, pid, since, state" \
			"^$tap +br0 +$user +${pid:-none} +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z +$state\$" "$line"
	done
	unhold q-eve-2
	end "$p"
	for t in "$a1" "$a2" "$c1"; do
		ip link del "$t" 2>/dev/null || true
	done
}

# pair_hold LABEL USER: a tap for USER made by an --inetd instance (pairparent's
# socketpair) with this suite's $CONF, held until `pair_release LABEL'; TAP
pair_hold() {
	local label=$1 fd
	mkfifo -m 0600 "$T/$label.fifo"
	"$PP" --as "$2" --hold br0 "$BROKER" --inetd --config "$CONF" --acl "$MAIN" \
		<"$T/$label.fifo" >"$T/$label.out" 2>"$T/$label.log" &
	HPID[$label]=$!
	ONTAP_PIDS+=("$!")
	exec {fd}>"$T/$label.fifo"
	HFD[$label]=$fd
	wait_for 100 grep -q '^broker exit=' "$T/$label.out" || true
	TAP=$(sed -n 's/^grant tap=\([^ ]*\) .*/\1/p' "$T/$label.out")
	check_match "$label: the --inetd instance made a tap for $2" '^tap[0-9]+$' "$TAP"
	TAP=${TAP:-tap-none}
}
pair_release() { unhold "$1"; }

ledger() {
	log "ledger: the listener's maker counts taps from link notifications (max-taps user alice 3)"
	local p l2 i
	conf ledger <<-EOF
		max-taps user $ALICE 3
		reap-orphans no
		lock-file $T/ledger.lock
	EOF
	broker ledger --config "$CONF" --acl "$MAIN"
	p=$BPID
	hold lg1 "$S" "$ALICE" br0
	hold lg2 "$S" "$ALICE" br0
	l2=$TAP
	hold lg3 "$S" "$ALICE" br0
	ask lg-full "$S" "$ALICE" br0
	refused lg-full "tap quota reached: uid $A_UID has 3 of 3 taps"
	unhold lg1
	ask lg-after-close "$S" "$ALICE" br0
	granted lg-after-close br0

	log "ledger: a tap root deletes while it is held no longer counts"
	hold lg4 "$S" "$ALICE" br0
	ask lg-full2 "$S" "$ALICE" br0
	refused lg-full2 "tap quota reached: uid $A_UID has 3 of 3 taps"
	ip link del "$l2"
	ask lg-after-del "$S" "$ALICE" br0
	granted lg-after-del br0
	unhold lg2

	log "ledger: a tap an --inetd instance made under the same lock counts"
	pair_hold lg-pair "$ALICE"
	ask lg-full3 "$S" "$ALICE" br0
	refused lg-full3 "tap quota reached: uid $A_UID has 3 of 3 taps"
	pair_release lg-pair
	ask lg-after-pair "$S" "$ALICE" br0
	granted lg-after-pair br0

	# alice's third, by --inetd: its notifications wait in the maker's queue,
	# which 2000 links made, tagged and deleted then overflow (the maker's
	# socket only takes tagged links' news: these are tagged for an unused
	# uid); root deletes the tap once the queue is full.  A ledger that
	# applied the queue (or ignored the overflow) would count that tap still.
	log "ledger: notifications lost (2000 tagged veths by root): one more tap, then the quota"
	pair_hold lg-pair2 "$ALICE"
	for i in $(seq 1 1000); do
		printf 'link add lgv%s group 99 type veth peer name lgp%s group 99\n' "$i" "$i"
	done >"$T/ledger.batch"
	for i in $(seq 1 1000); do
		printf 'link set lgv%s alias "ontap/1 uid=4000000 gid=4000000 pid=1 since=0 groups="\n' "$i"
	done >>"$T/ledger.batch"
	echo 'link del group 99' >>"$T/ledger.batch"
	check "ledger: root makes, tags and deletes 2000 links" ip -batch "$T/ledger.batch"
	ip link del "$TAP"
	hold lg5 "$S" "$ALICE" br0
	ask lg-full4 "$S" "$ALICE" br0
	refused lg-full4 "tap quota reached: uid $A_UID has 3 of 3 taps"
	check_has "ledger: the overflow was seen (the maker's log)" \
		"link notifications were lost (the socket overflowed)" "$(cat "$L")"
	check_eq "ledger: the maker kept one (no fallback to dumps)" "" \
		"$(grep 'no ledger of links' "$L" || true)"
	pair_release lg-pair2
	for i in lg3 lg4 lg5; do
		unhold "$i"
	done

	# a holder may make its taps' news as fast as it can (offload or carrier
	# toggles); here root changes a tagged link's alias 20000 times while
	# alice asks: her count stays exact, and nobody is refused for it
	log "ledger: a flood of tagged news while alice asks: exact counts, no refusal"
	local flood
	ip link add lgf group 99 alias "ontap/1 uid=4000000 gid=4000000 pid=1 since=0 groups=" \
		type veth peer name lgfp group 99
	for i in $(seq 1 10000); do
		printf 'link set lgf alias "ontap/1 uid=4000000 gid=4000000 pid=%s since=0 groups="\n' "$i"
		printf 'link set lgf alias "ontap/1 uid=4000000 gid=4000000 pid=1 since=%s groups="\n' "$i"
	done >"$T/flood.batch"
	ip -batch "$T/flood.batch" &
	flood=$!
	hold lg6 "$S" "$ALICE" br0
	hold lg7 "$S" "$ALICE" br0
	hold lg8 "$S" "$ALICE" br0
	ask lg-full5 "$S" "$ALICE" br0
	refused lg-full5 "tap quota reached: uid $A_UID has 3 of 3 taps"
	check "ledger: the flood ran to its end" wait "$flood"
	check_eq "ledger: nobody was refused for the ledger" "" \
		"$(grep 'ledger of links failed' "$L" || true)"
	ip link del lgf
	for i in lg6 lg7 lg8; do
		unhold "$i"
	done
	end "$p"
}

orphans() {
	log "orphans: reap-interval 1 removes a persistent tap nobody holds, and only that"
	local p held gone
	conf reap <<<"reap-interval 1"
	broker reap --config "$CONF" --acl "$MAIN"
	p=$BPID
	# held first: the pass that removes the other one has seen it too
	hold o-held "$S" "$ALICE" br0 --persist
	held=$TAP
	ask o-gone "$S" "$ALICE" br0 --persist
	granted o-gone br0
	gone=${TAP:-tap-none}
	check "orphan: removed within 6 s" wait_for 60 link_gone "$gone"
	# the reaper logs right after the deletion
	check "orphan: the log says so" wait_for 30 \
		grep -Eq "orphan tap=$gone ifindex=[0-9]+ uid=$A_UID .*: removed" "$L"
	check "orphan: a persistent tap still held is kept" test -e "/sys/class/net/$held"
	unhold o-held
	check "orphan: ... and removed once its holder closed it" wait_for 60 link_gone "$held"
	end "$p"

	log "orphans: reap-orphans no keeps them"
	conf keep <<-EOF
		reap-interval 1
		reap-orphans no
	EOF
	broker keep --config "$CONF" --acl "$MAIN"
	ask o-kept "$S" "$ALICE" br0 --persist
	granted o-kept br0
	sleep 3
	check "reap-orphans no: the orphan is still there after 3 s" test -e "/sys/class/net/${TAP:-tap-none}"
	check_eq "reap-orphans no: nothing reaped" "" "$(grep 'orphan tap=' "$L" || true)"
	end "$BPID"
	ip link del "${TAP:-tap-none}" 2>/dev/null || true

	log "orphans: a reap-interval made shorter by SIGHUP applies at once, not after the pass already scheduled"
	conf slow <<<"reap-interval 3600"
	broker slow --config "$CONF" --acl "$MAIN"
	p=$BPID
	# the pass at start is over once it has nothing left to say: the orphan comes after it
	sleep 1
	ask o-late "$S" "$ALICE" br0 --persist
	granted o-late br0
	gone=${TAP:-tap-none}
	printf 'reap-interval 1\n' >"$CONF"
	kill -HUP "$p"
	check "reap-interval 3600 -> 1 by SIGHUP: the orphan is removed within 6 s" wait_for 60 link_gone "$gone"
	end "$p"
	ip link del "$gone" 2>/dev/null || true
}

seeds() {
	log "acl-semantics last-match: the seed's bridge.conf, with per-user includes"
	local sd=$T/seed lm_s lm_p dw_s c name user br want
	mkdir -m 0755 "$sd"
	put_file "$sd/bridge.conf" root:root 0644 <<-EOF
		deny all
		allow br0
		include alice.conf
		include bob.conf
	EOF
	put_file "$sd/alice.conf" "root:$ALICE" 0640 <<<"allow br1"
	put_file "$sd/bob.conf" "root:$BOB" 0640 <<<"allow br2"
	conf lastmatch <<<"acl-semantics last-match"
	broker lastmatch --config "$CONF" --acl "$sd/bridge.conf"
	lm_s=$S lm_p=$BPID
	broker denywins --acl "$sd/bridge.conf"
	dw_s=$S
	for c in "alice $ALICE br0 y" "alice $ALICE br1 y" "alice $ALICE br2 n" \
		"bob $BOB br0 y" "bob $BOB br1 n" "bob $BOB br2 y" "carol $CAROL br0 y" "carol $CAROL br1 n"; do
		read -r name user br want <<<"$c"
		ask "lm-$name-$br" "$lm_s" "$user" "$br"
		if [ "$want" = y ]; then
			granted "last-match: $name $br" "$br"
		else
			refused "last-match: $name $br" "access denied by acl file: \`deny all' at $sd/bridge.conf:1"
		fi
	done
	for c in "alice $ALICE br0" "alice $ALICE br1" "bob $BOB br2" "carol $CAROL br0"; do
		read -r name user br <<<"$c"
		ask "dw-$name-$br" "$dw_s" "$user" "$br"
		refused "deny-wins: $name $br" "access denied by acl file: \`deny all' at $sd/bridge.conf:1"
	done
	end "$BPID"
	end "$lm_p"
}

audit_records() {
	log "audit: one record per request, with every field"
	local rec ifindex when groups n0
	broker audit --acl "$MAIN"
	n0=$(naudit "$L")
	hold au-grant "$S" "$ALICE" br0
	ifindex=$(cat "/sys/class/net/$TAP/ifindex" 2>/dev/null || echo none)
	groups=$(id -G "$ALICE" | tr ' ' '\n' | sort -n | paste -sd, -)
	rec=$(last_audit "$L")
	local stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
	check_match "audit, grant: time verdict uid gid groups pid exe bridge tap ifindex reason" \
		"^ontap-broker: time=$stamp verdict=grant uid=$A_UID gid=$(id -g "$ALICE") groups=$groups\
 pid=[0-9]+ exe=\"$HELPER\" bridge=\"br0\" tap=$TAP ifindex=$ifindex\
 .*reason=\"allowed by \`allow br0' at $ACL/net.conf:1\"\$" "$rec"
	when=$(sed -n 's/^ontap-broker: time=\([^ ]*\) .*/\1/p' <<<"$rec")
	when=$(date -d "$when" +%s 2>/dev/null || echo 0)
	check "audit, grant: time= is now (UTC), within 2 minutes" test $(($(date +%s) - when)) -lt 120
	unhold au-grant
	ask au-deny "$S" "$BOB" br0
	refused au-deny "access denied by acl file"
	check_match "audit, deny: no tap, the acl's reason" \
		"^ontap-broker: time=$stamp verdict=deny uid=$B_UID gid=$(id -g "$BOB") groups=[0-9,]+\
 pid=[0-9]+ exe=\"$HELPER\" bridge=\"br0\" tap=- ifindex=0\
 .*reason=\"access denied by acl file: no rule allows \`br0'\"\$" "$(last_audit "$L")"
	ask au-refuse "$S" "$ALICE" brnone
	refused au-refuse "brnone"
	check_match "audit, refuse: allowed, but no such bridge" \
		"^ontap-broker: time=$stamp verdict=refuse uid=$A_UID gid=[0-9]+ groups=[0-9,]+\
 pid=[0-9]+ exe=\"$HELPER\" bridge=\"brnone\" tap=- ifindex=0 .*reason=\".*brnone.*\"\$" \
		"$(last_audit "$L")"
	check_eq "audit: one record for each of the 3 requests" 3 $(($(naudit "$L") - n0))
	end "$BPID"
}

# Runs a command (exec'd: same pid) in a mount namespace of its own whose
# /dev is a tmpfs with the nodes a broker uses, and /dev/log our socket.
# shellcheck disable=SC2016 # expanded by the inner shell
DEVLOG_NS='set -e
d=$1 sock=$2
shift 2
mount -t tmpfs -o mode=0755,size=64k ontap-dev "$d"
for n in null zero full random urandom; do
	touch "$d/$n"
	mount --bind "/dev/$n" "$d/$n"
done
mkdir "$d/net"
touch "$d/net/tun" "$d/log"
mount --bind /dev/net/tun "$d/net/tun"
mount --bind "$sock" "$d/log"
mount --rbind "$d" /dev
exec "$@"'

syslog_sink() {
	log "log syslog, syslog-facility local3, syslog-ident ontaptest: the records reach /dev/log"
	local r p rc=0 out pri=$((19 * 8 + 5))   # LOG_LOCAL3, LOG_NOTICE
	"$PP" --recv "$T/devlog.sock" --count 4 --timeout 60 >"$T/syslog.out" 2>>"$T/syslog.err" &
	r=$!
	ONTAP_PIDS+=("$r")
	wait_for 100 test -S "$T/devlog.sock" || true
	conf syslog <<-EOF
		log syslog
		syslog-facility local3
		syslog-ident ontaptest
		reap-orphans no
	EOF
	mkdir -m 0755 "$T/dev"
	S=$T/syslog.sock L=$T/syslog.stderr
	bg /dev/null "$L" "$S" unshare --mount --propagation private -- bash -c "$DEVLOG_NS" devlog-ns \
		"$T/dev" "$T/devlog.sock" "$BROKER" --config "$CONF" --socket "$S" --acl "$MAIN"
	p=$BPID
	ask syslog-alice "$S" "$ALICE" br0
	granted syslog-alice br0
	ask syslog-bob "$S" "$BOB" br0
	refused syslog-bob "access denied by acl file"
	term_wait "$p"
	check_eq "syslog: SIGTERM: exit 0" 0 "$RC_STOP"
	wait_for 100 proc_gone "$r" || true
	wait "$r" || rc=$?
	forget_pid "$r"
	out=$(cat "$T/syslog.out")
	check_eq "syslog: four records (start, grant, deny, stop)" "0 4" "$rc $(wc -l <<<"$out")"
	check_eq "syslog: every one <$pri> (local3.notice) from ontaptest[PID]" 4 \
		"$(grep -Ec "^<$pri>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} ontaptest\[[0-9]+\]: " <<<"$out")"
	check_match "syslog: the broker's start" "^<$pri>.{15} ontaptest\[$p\]: listening on $S" \
		"$(sed -n 1p <<<"$out")"
	check_match "syslog: the grant's audit record" \
		"^<$pri>.{15} ontaptest\[[0-9]+\]: time=[^ ]+ verdict=grant uid=$A_UID .*bridge=\"br0\" tap=tap[0-9]+ " \
		"$(sed -n 2p <<<"$out")"
	check_match "syslog: the denial's audit record" \
		"^<$pri>.{15} ontaptest\[[0-9]+\]: time=[^ ]+ verdict=deny uid=$B_UID " "$(sed -n 3p <<<"$out")"
	check_match "syslog: the stop" "^<$pri>.{15} ontaptest\[$p\]: stopped$" "$(sed -n 4p <<<"$out")"
	check_eq "syslog: nothing on stderr" "" "$(cat "$L")"
}

check_option() {
	log "--check: 0 for good files; FILE:LINE: for a bad ontap.conf and for an error in an included acl"
	local rc out
	conf good <<-EOF
		# every kind of line
		acl $MAIN
		acl-semantics last-match
		deadline 5
		max-requests 16
		max-requests-per-user 4
		max-taps 2
		max-taps user $ALICE 3
		max-taps group $G_QG 4
		reap-orphans yes
		reap-interval 30
		lock-file $T/check.lock
		log syslog
		syslog-facility local3
		syslog-ident ontaptest
	EOF
	rc=0
	# stderr apart: it warns about br0, which follows its ports' MAC (security.sh tests that)
	out=$("$BROKER" --check --config "$CONF" 2>"$T/check-good.err") || rc=$?
	check_eq "--check, good: exit 0" 0 "$rc"
	check_eq "--check, good: ok for both files" "$CONF: ok"$'\n'"$MAIN: ok" "$out"
	check_eq "--check, good: nothing on stderr but warnings" "" \
		"$(grep -v "^ontap-broker: warning: .* follows its ports' MAC address" "$T/check-good.err" || true)"
	conf bad <<-EOF
		acl $MAIN
		# a comment

		max-taps user ${ONTAP_TAG}nosuchuser 2
	EOF
	rc=0
	out=$("$BROKER" --check --config "$CONF" 2>&1) || rc=$?
	check "--check, unknown user in ontap.conf: non-zero exit ($rc)" test "$rc" -ne 0
	check_has "--check, unknown user in ontap.conf: FILE:LINE:" "$CONF:4: " "$out"
	conf bad2 <<<"deadline 0"
	rc=0
	out=$("$BROKER" --check --config "$CONF" 2>&1) || rc=$?
	check "--check, deadline 0: non-zero exit ($rc)" test "$rc" -ne 0
	check_has "--check, deadline 0: FILE:LINE:" "$CONF:1: " "$out"

	mkdir -m 0755 "$T/chk"
	put_file "$T/chk/bridge.conf" root:root 0644 <<-EOF
		allow br0
		include $T/chk/inc.conf
	EOF
	# readable by NET only: --check, as root, must see it anyway
	put_file "$T/chk/inc.conf" "root:$G_NET" 0640 <<-EOF
		allow br1
		frobnicate br2
	EOF
	conf chk <<<"acl $T/chk/bridge.conf"
	rc=0
	out=$("$BROKER" --check --config "$CONF" 2>&1) || rc=$?
	check "--check, error in an included acl: non-zero exit ($rc)" test "$rc" -ne 0
	check_has "--check, error in an included acl: FILE:LINE:" "$T/chk/inc.conf:2: " "$out"
}

# ==== run =====================================================================

for part in "${PARTS[@]}"; do
	case $part in
	modes)
		standalone
		daemon
		super_servers
		socketpair_parent
		readiness
		sigterm
		sighup
		privilege
		;;
	limits)
		deadline
		bounds
		quotas
		ledger
		orphans
		seeds
		audit_records
		syslog_sink
		check_option
		;;
	esac
done
check "no tap left in the namespace" wait_for 50 taps_are 0
log "${PARTS[*]}: $((SECONDS - START)) s"
finish

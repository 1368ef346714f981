#!/bin/bash
# Root-level integration test of ontap-helper + ontap-broker, run in its own
# mount and network namespaces, with users made for the test.  Clients are
# run through qemu-call, which calls the helper exactly as qemu or libvirt do.
#   usage: integration.sh BUILD_DIR     (as root)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
require_root
BUILD=$(realpath -e "$1")
enter_test_ns "$@"
init_test_env
ulimit -S -n 1024   # what qemu usually runs with

stage_binaries "$BUILD"

# ---- users: alice in NET, bob in nothing, carol in NET and DENY; RT has no members
G_NET=${ONTAP_TAG}n G_RT=${ONTAP_TAG}r G_DENY=${ONTAP_TAG}d
ALICE=${ONTAP_TAG}alice BOB=${ONTAP_TAG}bob CAROL=${ONTAP_TAG}carol
add_group "$G_NET"
add_group "$G_RT"
add_group "$G_DENY"
add_user "$ALICE" "$G_NET"
add_user "$BOB"
add_user "$CAROL" "$G_NET,$G_DENY"

# ---- network, in our netns only
make_bridge br0 1500 198.18.0.1/24
make_bridge br9000 9000 198.18.1.1/24
make_nonbridge nb0

# ---- policy: per-group files, readable only by their group
ACL=$T/acl
mkdir -m 0755 "$ACL"
put_file "$ACL/bridge.conf" root:root 0644 <<EOF
# ontap integration test
include $ACL/net.conf
include $ACL/rt.conf
include $ACL/deny.conf
include $ACL/absent.conf
EOF
put_file "$ACL/net.conf" "root:$G_NET" 0640 <<EOF
allow br0
allow br9000
allow brnone
allow nb0
EOF
put_file "$ACL/rt.conf" "root:$G_RT" 0640 <<<"allow br9000"
put_file "$ACL/deny.conf" "root:$G_DENY" 0640 <<<"deny br0"

export ONTAP_SOCKET=$T/broker.sock
LOGF=$T/broker.log
start_broker "$BUILD" "$ONTAP_SOCKET" "$ACL/bridge.conf" "$LOGF"
BASE_TAPS=$(count_taps)
REQS=0

# one line per request: grant, deny (by the ACL) or refuse (failed after it)
log_grep() { audit_lines "$LOGF"; }
log_lines() { log_grep | wc -l; }
log_at_least() { [ "$(log_lines)" -ge "$1" ]; }
uidof() { id -u "$1"; }
gidof() { getent group "$1" | cut -d: -f3; }

# call LABEL WHERE USER GROUPS QEMU-CALL-ARGS...
# Runs qemu-call as USER.  WHERE is "broker" when the request must reach the
# broker (exactly one new log line) or "local" when the helper must answer
# alone.  Either way no tap may be left once the client is gone.
call() {
	local label=$1 where=$2 before
	WHO=$3
	shift 2
	before=$(log_lines)
	RC=0
	run_as "$@" >"$T/$label.out" 2>"$T/$label.err" || RC=$?
	OUT=$(cat "$T/$label.out")
	# the helper's own stderr: without qemu-call's lines
	ERR=$(helper_stderr "$T/$label.err")
	HEXIT=$(sed -n 's/^helper exit=//p' "$T/$label.err")
	if [ "$where" = broker ]; then
		REQS=$((REQS + 1))
		wait_for 30 log_at_least $((before + 1)) || true
		check_eq "$label: one broker log line" $((before + 1)) "$(log_lines)"
		LOGLINE=$(log_grep | tail -n 1)
	else
		check_eq "$label: broker not asked" "$before" "$(log_lines)"
		LOGLINE=
	fi
	wait_for 30 taps_are "$BASE_TAPS" || true
	check_eq "$label: no tap left once the client is gone" "$BASE_TAPS" "$(count_taps)"
}

# granted LABEL BRIDGE MTU VNET_HDR
granted() {
	local label=$1 br=$2 mtu=$3 vnet=$4 tap
	check_eq "$label: exit 0, helper exit 0" "0 0" "$RC $HEXIT"
	check_match "$label: tap on $br, mtu $mtu, mac fe:, up, vnet_hdr=$vnet" \
		"^tap=tap[0-9]+ mtu=$mtu mac=fe(:[0-9a-f]{2}){5} up=1 master=$br vnet_hdr=$vnet\$" "$OUT"
	check_eq "$label: helper silent on success" "" "$ERR"
	tap=$(printf '%s\n' "$OUT" | sed -n 's/^tap=\([^ ]*\) .*/\1/p')
	check_match "$label: broker logs the grant" \
		"^ontap-broker: time=[^ ]+ verdict=grant uid=$(uidof "$WHO") gid=$(id -g "$WHO") groups=[^ ]* pid=[0-9]+ (.* )?bridge=\"?$br\"? (.* )?tap=\"?$tap\"? ifindex=[0-9]+" \
		"$LOGLINE"
}

# refused LABEL FRAGMENT: exit 1 and one line from the helper containing FRAGMENT
refused() {
	local label=$1 frag=$2
	check_eq "$label: exit 1, helper exit 1, no tap" "1 1 " "$RC $HEXIT $OUT"
	check_match "$label: one line on stderr, from ontap-helper" '^ontap-helper: ' "$ERR"
	check_eq "$label: only one line" 1 "$(printf '%s\n' "$ERR" | wc -l)"
	check_has "$label: says \"$frag\"" "$frag" "$ERR"
}

# broker_denied LABEL BRIDGE [VERB]: VERB deny (the ACL's verdict, default)
# or refuse (a failure after the ACL allowed it)
broker_denied() {
	check_match "$1: broker logs the refusal with a reason" \
		"^ontap-broker: time=[^ ]+ verdict=${3:-deny} uid=$(uidof "$WHO") .*bridge=\"?$2\"? .*reason=\".+\"" "$LOGLINE"
}

log "grants: qemu's argv, tap as the kernel sees it"
call qemu-br0 broker "$ALICE" init "$QC" "$HELPER" br0
granted qemu-br0 br0 1500 1
# the listener holds one channel per child (the maker, a worker per identity)
own_fds() {
	echo $(($(find "/proc/$BROKER_PID/fd" -mindepth 1 | wc -l) - $(pgrep -c -P "$BROKER_PID")))
}
FDS_START=$(own_fds)

call qemu-br9000 broker "$ALICE" init "$QC" "$HELPER" br9000
granted qemu-br9000 br9000 9000 1

log "libvirt: PATH [--use-vnet] --br=B --fd=N, strict receive, TUNGETIFF"
call libvirt-novnet broker "$ALICE" init "$QC" --libvirt --no-vnet "$HELPER" br0
granted libvirt-novnet br0 1500 0
call libvirt-vnet broker "$ALICE" init "$QC" --libvirt "$HELPER" br9000
granted libvirt-vnet br9000 9000 1

log "qemu's /bin/sh -c form"
# "--br=br0" in the helper string: qemu leaves its own --br=B out
call sh-br-first broker "$ALICE" init "$QC" "$HELPER --br=br0" br9000
granted sh-br-first br0 1500 1
# no --br= in it: qemu appends --br=B; --use-vnet now comes twice
call sh-vnet-twice broker "$ALICE" init "$QC" "$HELPER --use-vnet" br9000
granted sh-vnet-twice br9000 9000 1

log "a held tap: there while the client holds it, gone when it closes"
mkfifo -m 0600 "$T/hold.fifo"
before=$(log_lines)
spawn_as "$T/hold.fifo" "$T/hold.out" "$T/hold.err" "$ALICE" init "$QC" --hold -1 "$HELPER" br0
HOLD_PID=$SPAWN_PID
exec 9>"$T/hold.fifo"
REQS=$((REQS + 1))
wait_for 100 test -s "$T/hold.out" || true
TAP=$(sed -n 's/^tap=\([^ ]*\) .*/\1/p' "$T/hold.out")
check_match "hold: client reports a tap" '^tap[0-9]+$' "$TAP"
TAP=${TAP:-tap-none}
check "hold: $TAP exists while held" test -e "/sys/class/net/$TAP"
check_eq "hold: one tap more than before" $((BASE_TAPS + 1)) "$(count_taps)"
check_eq "hold: sysfs master is br0" ../br0 "$(readlink "/sys/class/net/$TAP/master" || true)"
check_eq "hold: sysfs mtu" 1500 "$(cat "/sys/class/net/$TAP/mtu" 2>/dev/null || true)"
flags=$(cat "/sys/class/net/$TAP/flags" 2>/dev/null || echo 0)
check_eq "hold: IFF_UP in sysfs flags" 1 $((flags & 1))
# IFF_TAP 0x2, IFF_NO_PI 0x1000, IFF_VNET_HDR 0x4000 set; IFF_PERSIST 0x800 not
tf=$(cat "/sys/class/net/$TAP/tun_flags" 2>/dev/null || echo 0)
check_eq "hold: tun_flags TAP|NO_PI|VNET_HDR, not PERSIST" 0x5002 \
	"$(printf '0x%x' $((tf & (0x2 | 0x1000 | 0x4000 | 0x800 | 0x1))))"
check_eq "hold: no tun owner, no tun group" "-1 -1" \
	"$(cat "/sys/class/net/$TAP/owner" "/sys/class/net/$TAP/group" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
wait_for 30 log_at_least $((before + 1)) || true
check_eq "hold: one broker log line" $((before + 1)) "$(log_lines)"
# in a subshell: a client that already died must not SIGPIPE the script
(printf 'done\n' >&9) 2>/dev/null || true
exec 9>&-
hold_rc=0
wait "$HOLD_PID" || hold_rc=$?
check_eq "hold: client exits 0 after closing" 0 "$hold_rc"
check "hold: $TAP is gone after the client closed it" wait_for 30 link_gone "$TAP"

log "ACL verdicts: per-group files and run-time groups"
call bob-br0 broker "$BOB" init "$QC" "$HELPER" br0
refused bob-br0 "access denied by acl file"
broker_denied bob-br0 br0

# RT has no members in /etc/group: only a run-time group can grant br9000
call bob-rt-br9000 broker "$BOB" "$G_RT" "$QC" "$HELPER" br9000
granted bob-rt-br9000 br9000 9000 1
check_match "bob-rt-br9000: logged groups include RT's gid" \
	"groups=([^ ]*,)?$(gidof "$G_RT")(,[^ ]*)? " "$LOGLINE"
call bob-init-br9000 broker "$BOB" init "$QC" "$HELPER" br9000
refused bob-init-br9000 "access denied by acl file"
broker_denied bob-init-br9000 br9000

# alice is in NET in /etc/group, but this process is not: the broker joins
# the database's groups to the process's (a group shed is still a group:
# ontap-broker(8), IDENTITY), so NET's include still applies
call alice-rt-only-br0 broker "$ALICE" "$G_RT" "$QC" "$HELPER" br0
granted alice-rt-only-br0 br0 1500 1
check_match "alice-rt-only-br0: logged groups include NET's and RT's gids" \
	"groups=([^ ]*,)?($(gidof "$G_NET"),([^ ]*,)?$(gidof "$G_RT")|$(gidof "$G_RT"),([^ ]*,)?$(gidof "$G_NET"))(,[^ ]*)? " "$LOGLINE"
call alice-nogroups-br0 broker "$ALICE" none "$QC" "$HELPER" br0
granted alice-nogroups-br0 br0 1500 1

# carol is in NET (allow br0) and DENY (deny br0): deny wins, br9000 stays allowed
call carol-br0 broker "$CAROL" init "$QC" "$HELPER" br0
refused carol-br0 "access denied by acl file"
broker_denied carol-br0 br0
call carol-br9000 broker "$CAROL" init "$QC" "$HELPER" br9000
granted carol-br9000 br9000 9000 1

log "refusals after the ACL check leave nothing behind"
call alice-brnone broker "$ALICE" init "$QC" "$HELPER" brnone
refused alice-brnone "brnone"
broker_denied alice-brnone brnone refuse
call alice-nonbridge broker "$ALICE" init "$QC" "$HELPER" nb0
refused alice-nonbridge "nb0"
broker_denied alice-nonbridge nb0 refuse
check "non-bridge nb0 still has no master" test ! -e /sys/class/net/nb0/master

log "refused by the helper alone"
call too-long local "$ALICE" init "$QC" "$HELPER" abcdefghijklmnopqrst
refused too-long "ontap-helper: name \`abcdefghijklmnopqrst' too long: 20"
call no-broker local "$ALICE" init env ONTAP_SOCKET="$T/absent.sock" "$QC" "$HELPER" br0
refused no-broker "cannot reach ontap-broker at \`$T/absent.sock'"

USAGE="Usage: ontap-helper [--use-vnet] --br=bridge --fd=unixfd"
for argv in "--use-vnet --br=br0" "--br=br0 --fd=0 --bogus"; do
	rc=0
	# shellcheck disable=SC2086 # argv is split on purpose
	err=$(run_as "$ALICE" init "$HELPER" $argv 2>&1 </dev/null) || rc=$?
	check_eq "usage error for \"$argv\": exit 1, usage line" "1 $USAGE" "$rc $err"
done
rc=0
err=$(run_as "$ALICE" init "$HELPER" --br=br0 --fd=0 2>&1 </dev/null) || rc=$?
check_eq "--fd=0 on /dev/null: exit 1" 1 "$rc"
check_match "--fd=0 on /dev/null: an error from ontap-helper" '^ontap-helper: ' "$err"
check_eq "--fd=0 on /dev/null: only one line" 1 "$(printf '%s\n' "$err" | wc -l)"

log "main ACL unreadable by the user, then readable again (read fresh each time)"
chmod 0600 "$ACL/bridge.conf"
call main-unreadable broker "$ALICE" init "$QC" "$HELPER" br0
refused main-unreadable "failed to parse default acl file \`$ACL/bridge.conf'"
broker_denied main-unreadable br0
chmod 0644 "$ACL/bridge.conf"
call main-readable broker "$ALICE" init "$QC" "$HELPER" br0
granted main-readable br0 1500 1

log "broker bookkeeping"
check_eq "broker log: one grant/deny/refuse line per request" "$REQS" "$(log_lines)"
check_eq "broker holds no more fds than after its first request (but its children's channels)" \
	"$FDS_START" "$(own_fds)"
check "broker still running" kill -0 "$BROKER_PID"

log "--daemon returns once the socket listens, with a pidfile"
rc=0
timeout -k 2 10 "$BUILD/ontap-broker" --daemon --pidfile "$T/d.pid" --socket "$T/d.sock" \
	--acl "$ACL/bridge.conf" 2>>"$T/daemon.log" || rc=$?
check_eq "--daemon: exit 0" 0 "$rc"
check "--daemon: the socket exists on return" test -S "$T/d.sock"
DPID=$(cat "$T/d.pid" 2>/dev/null || true)
if [[ $DPID =~ ^[0-9]+$ ]]; then
	ONTAP_PIDS+=("$DPID")
	check_eq "--daemon: pidfile names the running broker" ontap-broker "$(cat "/proc/$DPID/comm" 2>/dev/null || true)"
else
	fail "--daemon: pidfile holds a pid" "got: $DPID"
fi
call daemon-br0 local "$ALICE" init env ONTAP_SOCKET="$T/d.sock" "$QC" "$HELPER" br0
check_eq "daemon-br0: exit 0" "0 0" "$RC $HEXIT"
check_match "daemon-br0: tap on br0" '^tap=tap[0-9]+ mtu=1500 .* master=br0 ' "$OUT"
if [[ $DPID =~ ^[0-9]+$ ]]; then
	stop_pid "$DPID"
	check "--daemon: gone after SIGTERM" proc_gone "$DPID"
fi

finish

#!/bin/bash
# Regression tests for the security review (issue 12), as root, in its own
# mount and network namespaces, with users made for the test.  Each part
# failed on the broker as it was before the fix:
#   altname   a deny rule dodged by asking for the bridge's altname
#   audit     an executable's name forging fields of the audit record
#   quota     no default bound on the taps one user holds
#   fds       descriptors inherited by the broker reaching its workers
#   mac       --check silent about bridges that follow their ports' MAC
#   usage: security.sh BUILD_DIR     (as root)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
require_root
BUILD=$(realpath -e "$1")
enter_test_ns "$@"
init_test_env

stage_binaries "$BUILD" tests/pairparent tests/bridge-probe
PP=$BIN/pairparent PROBE=$BIN/bridge-probe

ALICE=${ONTAP_TAG}alice BOB=${ONTAP_TAG}bob
add_user "$ALICE"
add_user "$BOB"

make_bridge br0 1500 198.18.0.1/24
make_bridge br-secret 1500 198.18.1.1/24
ip link property add dev br-secret altname alt0
ip link property add dev br0 altname alt-br0

ACL=$T/acl
mkdir -m 0755 "$ACL"
put_file "$ACL/bridge.conf" root:root 0644 <<-EOF
	allow all
	deny br-secret
EOF
# every default but where the quota lock lives: in our temp dir, not the host's /run
CONF=$T/ontap.conf
put_file "$CONF" root:root 0644 <<<"lock-file $T/quota.lock"
export ONTAP_SOCKET=$T/broker.sock
LOGF=$T/broker.log

# start: the broker on $ONTAP_SOCKET, inheriting this shell's open fds; BROKER_PID
start() {
	rm -f "$ONTAP_SOCKET"
	"$BUILD/ontap-broker" --config "$CONF" --socket "$ONTAP_SOCKET" --acl "$ACL/bridge.conf" 2>>"$LOGF" &
	BROKER_PID=$!
	ONTAP_PIDS+=("$BROKER_PID")
	wait_for 100 test -S "$ONTAP_SOCKET" || { cat "$LOGF" >&2; die "ontap-broker did not listen"; }
}
stop() {
	stop_pid "$BROKER_PID"
	forget_pid "$BROKER_PID"
}

records() { grep -E '^ontap-broker: time=[^ ]+ verdict=' "$LOGF" || true; }
nrecords() { records | wc -l; }
at_least() { [ "$(nrecords)" -ge "$1" ]; }

# ask LABEL USER BRIDGE [QEMU-CALL OPTIONS...]: the helper (ASK_HELPER, else
# ontap-helper) through qemu-call; RC OUT ERR TAP, and REC, the audit record
# the request added
ask() {
	local label=$1 user=$2 br=$3 before
	shift 3
	before=$(nrecords)
	RC=0
	run_as "$user" init "$QC" "$@" "${ASK_HELPER:-$HELPER}" "$br" \
		>"$T/$label.out" 2>"$T/$label.err" </dev/null || RC=$?
	OUT=$(cat "$T/$label.out")
	ERR=$(grep -v -e '^helper exit=' -e '^qemu-call: ' "$T/$label.err" || true)
	TAP=$(sed -n 's/^tap=\([^ ]*\) .*/\1/p' "$T/$label.out")
	wait_for 30 at_least $((before + 1)) || true
	REC=$(records | tail -n 1)
}

# fields REC: the record's keys outside quoted values, one per line; a
# quoted value read the usual way ("..." with \ escaping the next byte)
fields() {
	printf '%s\n' "$1" | sed -E 's/^ontap-broker: //; s/"([^"\\]|\\.)*"/Q/g' | tr ' ' '\n' |
		sed -n 's/^\([a-z_]*\)=.*/\1/p'
}
field_count() { fields "$1" | grep -cx "$2" || true; }
# value REC KEY: KEY's quoted value, decoded (\xNN -> the byte)
value() {
	local v
	v=$(printf '%s\n' "$1" | sed -n "s/.* $2=\"\\([^\"]*\\)\".*/\\1/p")
	printf '%b' "$v"
}

start

# ---- 2: altnames -------------------------------------------------------------
log "altname: decided and recorded on the bridge's canonical name"
ask alt-deny "$ALICE" alt0
check_eq "alt0 (br-secret's altname) under deny br-secret: refused, no tap" "1 " "$RC $TAP"
check_has "... the helper says access denied" "access denied by acl file: \`deny br-secret'" "$ERR"
check_match "... recorded as a deny of bridge=\"br-secret\" requested=\"alt0\"" \
	' verdict=deny .* bridge="br-secret" requested="alt0" ' "$REC"
ask alt-grant "$ALICE" alt-br0
check_match "alt-br0 (br0's altname) under allow all: a tap on br0" "^tap=tap[0-9]+ .* master=br0 " "$OUT"
check_match "... recorded as bridge=\"br0\" requested=\"alt-br0\", allowed by \`allow all'" \
	' verdict=grant .* bridge="br0" requested="alt-br0" .*reason="allowed by `allow all'"'"' at ' "$REC"
ask canon "$ALICE" br0
check_match "br0 by its own name: granted, no requested= field" \
	'verdict=grant .* bridge="br0" tap=' "$REC"
ask secret "$ALICE" br-secret
check_match "br-secret by its own name: denied" ' verdict=deny .* bridge="br-secret" tap=- ' "$REC"
ask nobr "$ALICE" nosuchbr0
check_has "no such interface: the reference's words" \
	"failed to get mtu of bridge \`nosuchbr0': No such device" "$ERR"

# the re-check once the tap is attached: by ifindex, name and kind
make_bridge br-moving 1500 198.18.4.1/24
ip link property add dev br-moving altname alt-moving
IX=$(cat /sys/class/net/br-moving/ifindex)
check_eq "resolve alt-moving: br-moving, its ifindex" "0 br-moving $IX" "$("$PROBE" resolve alt-moving 2>/dev/null)"
check_eq "resolve nb-none: no such device, the name kept" "ENODEV nb-none 0" "$("$PROBE" resolve nb-none 2>/dev/null)"
make_nonbridge nb-plain
check_eq "resolve a non-bridge: EMEDIUMTYPE" "EMEDIUMTYPE nb-plain $(cat /sys/class/net/nb-plain/ifindex)" \
	"$("$PROBE" resolve nb-plain 2>/dev/null)"
check_eq "recheck br-moving by its ifindex: still it" 0 "$("$PROBE" recheck br-moving "$IX" 2>/dev/null)"
ip link set br-moving down
ip link set br-moving name br-moved
check_eq "recheck after a rename: ESTALE" ESTALE "$("$PROBE" recheck br-moving "$IX" 2>/dev/null)"
check_has "... and says so" "bridge \`br-moving' (ifindex $IX) was renamed \`br-moved'" \
	"$("$PROBE" recheck br-moving "$IX" 2>&1 >/dev/null)"
# ifindexes are handed out in turn and a kind never changes: the recheck asks
# only whether the name at that ifindex is the same (bridge.c)
ip link del br-moved
check_eq "recheck after a delete: ENODEV" ENODEV "$("$PROBE" recheck br-moving "$IX" 2>/dev/null)"
# A worker remembers the ifindexes it saw to be bridges, to spare the one
# lookup that takes the kernel's rtnl lock (bridge.c): a bridge replaced by
# a non-bridge of the same name has another ifindex, and is asked anew.
alice_worker() { ps -o pid=,user= --ppid "$BROKER_PID" | awk -v u="$ALICE" '$2 == u { print $1 }'; }
make_bridge br-swap 1500 198.18.5.1/24
ask swap1 "$ALICE" br-swap
check_match "br-swap, a bridge: granted" "^tap=tap[0-9]+ .* master=br-swap " "$OUT"
W1=$(alice_worker)
ip link del br-swap
make_nonbridge br-swap
ask swap2 "$ALICE" br-swap
check_eq "br-swap again, now a non-bridge of that name: refused, no tap" "1 " "$RC $TAP"
check_has "... as not a bridge" "\`br-swap' is not a bridge" "$ERR"
check_eq "... by the worker that saw the bridge (pid ${W1:-none})" "$W1" "$(alice_worker)"
ip link del br-swap

# ---- 3: one escaper ------------------------------------------------------------
log "audit: an executable's name cannot forge fields"
# shellcheck disable=SC1003 # a backslash at the end, not an escaped quote
NAME='ontap-helper" verdict=deny bridge="secret" x="\x22\'
mkdir -m 0755 "$T/odd"
cp "$HELPER" "$T/odd/$NAME"
chmod 0755 "$T/odd/$NAME"
# --libvirt: an argv, no shell to read the quotes
ASK_HELPER=$T/odd/$NAME ask forged "$ALICE" br0 --libvirt
check_match "the oddly named helper got its tap" "^tap=tap[0-9]+ .* master=br0 " "$OUT"
check_eq "the record has one verdict= field" 1 "$(field_count "$REC" verdict)"
check_eq "... one bridge= field" 1 "$(field_count "$REC" bridge)"
check_eq "... one exe= field" 1 "$(field_count "$REC" exe)"
check_match "... and it says grant, on br0" ' verdict=grant .* bridge="br0" ' "$REC"
check_eq "exe= decodes back to the executable's exact path" "$T/odd/$NAME" "$(value "$REC" exe)"
check_match "... in which every backslash starts an escape" '^([^\\]|\\x[0-9a-f]{2})*$' \
	"$(printf '%s\n' "$REC" | sed -n 's/.* exe="\([^"]*\)" .*/\1/p')"

# ---- 4: the default tap quota ------------------------------------------------------
log "quota: 128 taps per user by default"
HOLDERS=()
BASE_TAPS=$(count_taps)
QUOTA_T0=$SECONDS
for ((i = 0; i < 128; i += 4)); do
	# four at a time: within max-requests-per-user, and quick
	for ((j = i; j < i + 4; j++)); do
		spawn_as /dev/null "$T/q$j.out" "$T/q$j.err" "$ALICE" init "$QC" --hold 45 "$HELPER" br0
		HOLDERS+=("$SPAWN_PID")
	done
	for ((j = i; j < i + 4; j++)); do
		wait_for 100 test -s "$T/q$j.out" || break 2
	done
done
HELD=$(cat "$T"/q*.out 2>/dev/null | grep -c '^tap=tap[0-9]* .* master=br0 ' || true)
check_eq "alice holds 128 taps on br0 (in $((SECONDS - QUOTA_T0)) s)" 128 "$HELD"
ask q-129 "$ALICE" br0
check_eq "the 129th: refused, no tap" "1 " "$RC $TAP"
check_has "... with the quota message" "tap quota reached: uid $(id -u "$ALICE") has 128 of 128 taps" "$ERR"
check_match "... and a refuse record" " verdict=refuse uid=$(id -u "$ALICE") .*errno=122 reason=\"tap quota reached" "$REC"
ask q-bob "$BOB" br0
check_match "bob still gets a tap" "^tap=tap[0-9]+ .* master=br0 " "$OUT"
for p in "${HOLDERS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${HOLDERS[@]}"; do
	wait_for 50 proc_gone "$p" || true
	stop_pid "$p"
	forget_pid "$p"
done
check "alice's taps are gone with her holders" wait_for 300 taps_are "$BASE_TAPS"

# ---- 6: inherited descriptors ----------------------------------------------------------
log "fds: the broker keeps none of what its caller left open"
stop
: >"$T/stray10"
: >"$T/stray251"
# open in this shell without close-on-exec, as a careless supervisor leaves them
exec 10<"$T/stray10" 251<"$T/stray251"
start
exec 10<&- 251<&-
# a client that connects and sends nothing: its worker (now alice) waits
mkfifo -m 0600 "$T/stall.fifo"
spawn_as "$T/stall.fifo" "$T/stall.out" "$T/stall.err" "$ALICE" init "$PP" --connect "$ONTAP_SOCKET" --wait-line -
STALL=$SPAWN_PID
exec {STALL_FD}>"$T/stall.fifo"
wait_for 100 grep -q '^connected$' "$T/stall.out" || true
# a process under the broker with alice's uid: the stalled client's worker
alice_worker() {
	local p
	for p in $(process_tree "$BROKER_PID"); do
		[ "$(stat -c %u "/proc/$p" 2>/dev/null)" != "$(id -u "$ALICE")" ] || return 0
	done
	return 1
}
check "a worker, now alice, serves the stalled client" wait_for 50 alice_worker
STRAYS=""
for p in $(process_tree "$BROKER_PID"); do
	for f in /proc/"$p"/fd/*; do
		case $(readlink "$f" 2>/dev/null) in
		"$T/stray10" | "$T/stray251") STRAYS+=" $p:${f##*/}" ;;
		esac
	done
done
check_eq "no process of the broker's holds its caller's fd 10 or 251" "" "$STRAYS"
(printf 'go\n' >&"$STALL_FD") 2>/dev/null || true
exec {STALL_FD}>&-
stop_pid "$STALL"
forget_pid "$STALL"
ask after-fds "$ALICE" br0
check_match "the broker still serves" "^tap=tap[0-9]+ .* master=br0 " "$OUT"
stop

# ---- 7: bridges that follow their ports' MAC -------------------------------------------
log "mac: --check warns about bridges named in the ACL that follow their ports' MAC"
make_bridge br-follow 1500 198.18.2.1/24
make_bridge br-pinned 1500 198.18.3.1/24
ip link set br-pinned address 02:00:5e:00:53:01
make_nonbridge nb0
check_eq "br-pinned's address is its own (addr_assign_type 3)" 3 "$(cat /sys/class/net/br-pinned/addr_assign_type)"
put_file "$ACL/mac.conf" root:root 0644 <<-EOF
	allow br-follow
	allow all
	include $ACL/mac-private.conf
	deny nosuchbr1
	allow nb0
EOF
# readable by root alone: --check runs as root and sees every include
put_file "$ACL/mac-private.conf" root:root 0600 <<-EOF
	deny br-pinned
	allow br-follow
EOF
RC=0
"$BUILD/ontap-broker" --check --config "$CONF" --acl "$ACL/mac.conf" >"$T/check.out" 2>"$T/check.err" || RC=$?
check_eq "--check: exit status 0" 0 "$RC"
check_has "--check: says the acl is ok" "$ACL/mac.conf: ok" "$(cat "$T/check.out")"
check_has "--check: warns about br-follow, where it is named" \
	"warning: $ACL/mac.conf:1: bridge \`br-follow' follows its ports' MAC address" "$(cat "$T/check.err")"
check_has "... and says how to pin it" "ip link set br-follow address" "$(cat "$T/check.err")"
check_eq "... once, though two rules name it" 1 "$(grep -c "br-follow" "$T/check.err" || true)"
check_eq "... and about nothing else (br-pinned, nosuchbr1, nb0)" 1 "$(wc -l <"$T/check.err")"

finish

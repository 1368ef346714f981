#!/bin/bash
# Load and fault tests of ontap-broker, as root, in its own mount and network
# namespaces, with users made for the test.  The clients are ontap-load
# (tests/load.c), which talks the wire protocol directly, and the real
# ontap-helper run the way qemu runs it (qemu-call).
#   usage: load.sh [--short | --long] BUILD_DIR     (as root)
#     --short   ctest and CI: 1,000 requests, 1,000 idle connections for 12 s ...
#     --long    by hand, for tests/FIGURES: 10,000 requests, 2-minute floods ...
# The figures (FIGURE lines) are repeated at the end; ONTAP_FIGURES=FILE
# also writes them to FILE.  ONTAP_RSS_SLACK_KB: how much the broker's RSS
# may grow over the flood (default 1024; sanitize.sh raises it, as ASan's
# quarantine and shadow memory grow without any leak).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

ARGS=("$@")
MODE=short
case ${1:-} in
--short) shift ;;
--long) MODE=long; shift ;;
esac
[ $# -eq 1 ] || die "usage: $0 [--short | --long] BUILD_DIR"
require_root
BUILD=$(realpath -e "$1")
enter_test_ns "${ARGS[@]}"
init_test_env

stage_binaries "$BUILD" tests/ontap-load
LOAD=$BIN/ontap-load
FIGS=$T/figures

if [ "$MODE" = long ]; then
	REQUESTS=10000 CONC=64 IDLE=1000 HOLD=120 DRIP_N=1000 DRIP_MS=60000 DRIP_HOLD=130
	GARBAGE=5000 ROUNDS=20 KILL_REQUESTS=90000 KILL_AFTER=3000 SEQUENTIAL=2000
else
	REQUESTS=1000 CONC=64 IDLE=1000 HOLD=12 DRIP_N=200 DRIP_MS=1000 DRIP_HOLD=14
	GARBAGE=100 ROUNDS=3 KILL_REQUESTS=90000 KILL_AFTER=1500 SEQUENTIAL=200
fi
log "mode $MODE"

# ---- users: eight who flood, one who floods with idle connections, one who just asks
USERS=()
for i in 1 2 3 4 5 6 7 8; do
	add_user "${ONTAP_TAG}l$i"
	USERS+=("${ONTAP_TAG}l$i")
done
MALLORY=${ONTAP_TAG}m
ALICE=${ONTAP_TAG}a
add_user "$MALLORY"
add_user "$ALICE"
ident() { printf '%s:%s:' "$(id -u "$1")" "$(id -g "$1")"; }
USER_OPTS=()
for u in "${USERS[@]}"; do USER_OPTS+=(--user "$(ident "$u")"); done

make_bridge br0 1500 198.18.0.1/24

ACL=$T/acl
mkdir -m 0755 "$ACL"
put_file "$ACL/bridge.conf" root:root 0644 <<<"allow br0"
SOCK=$T/broker.sock
LOGF=$T/broker.log
# the quota lock in our temp dir, not in the host's /run
CONF=$T/ontap.conf
put_file "$CONF" root:root 0644 <<<"lock-file $T/quota.lock"

# broker_start SOCKET CONFIG: a broker in the background; BROKER_PID once it listens
broker_start() {
	rm -f "$1"
	"$BUILD/ontap-broker" --config "$2" --socket "$1" --acl "$ACL/bridge.conf" 2>>"$LOGF" &
	BROKER_PID=$!
	ONTAP_PIDS+=("$BROKER_PID")
	wait_for 100 test -S "$1" || { cat "$LOGF" >&2; die "ontap-broker did not listen on $1"; }
}
broker_start "$SOCK" "$CONF"
BASE_TAPS=$(count_taps)

# load_tool MODE ARGS...: runs ontap-load (bounded), turns its RESULT lines
# into checks and keeps its FIGURE lines.
load_tool() {
	local what=$1 line rc=0 pid
	exec 8< <(timeout -k 5 900 "$LOAD" "$@" --socket "$SOCK" 2>&1)
	pid=$!
	while IFS= read -r line <&8; do
		case $line in
		"RESULT PASS "*) pass "${line#RESULT PASS }" ;;
		"RESULT FAIL "*) fail "${line#RESULT FAIL }" ;;
		"FIGURE "*) printf '%s\n' "${line#FIGURE }" >>"$FIGS"; log "$line" ;;
		*) log "$line" ;;
		esac
	done
	exec 8<&-
	wait "$pid" || rc=$?
	# 1 is "some check failed", already counted; anything else is the tool's own failure
	[ "$rc" -le 1 ] || fail "ontap-load $what ran to its end" "exit status $rc"
}

broker_alive() { kill -0 "$BROKER_PID" 2>/dev/null; }
# one broker log line per connection: its audit record (grant, deny or
# refuse, also for one turned away), or the listener's word that its worker
# was ended at the deadline
log_lines() {
	grep -cE "$ONTAP_AUDIT_RE|^ontap-broker: worker [0-9]+ for uid [0-9]+ ended by signal" "$LOGF" || true
}
log_at_least() { [ "$(log_lines)" -ge "$1" ]; }
# fig NAME KEY: KEY's value in the last FIGURE line NAME
fig() {
	awk -v n="$1" -v k="$2" '$1 == n { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) v = a[2] } } END { print v }' "$FIGS"
}
# logged_each WHAT BEFORE N: N more log lines than BEFORE, in at most 15 s
logged_each() {
	wait_for 150 log_at_least $(($2 + $3)) || true
	check_eq "$1: one broker log line per connection ($3)" $(($2 + $3)) "$(log_lines)"
}

# helper_call LABEL USER: the real helper through qemu-call; sets RC OUT ERR MS
helper_call() { helper_ask "$1" - "$2" br0; }

export ONTAP_SOCKET=$SOCK

# A request is in flight from connect to reply.  One after another, a user
# never has more than one: none may be turned away by the per-user bound.
log "one user, one request after another"
LOG0=$(log_lines)
load_tool flood --user "$(ident "$ALICE")" --requests "$SEQUENTIAL" --concurrency 1 --max-seconds 300
logged_each sequential "$LOG0" "$SEQUENTIAL"

log "10,000-style flood: $REQUESTS requests, $CONC at a time, ${#USERS[@]} users"
LOG0=$(log_lines)
load_tool flood "${USER_OPTS[@]}" --requests "$REQUESTS" --concurrency "$CONC" \
	--broker-pid "$BROKER_PID" --max-seconds 600 --rss-slack-kb "${ONTAP_RSS_SLACK_KB:-1024}"
logged_each flood "$LOG0" "$REQUESTS"
check "broker still running after the flood" broker_alive

log "idle flood: $IDLE connections that send nothing, held ${HOLD}s, reopened when dropped"
LOG0=$(log_lines)
load_tool idle --user "$(ident "$MALLORY")" --legit-user "$(ident "$ALICE")" \
	--idle "$IDLE" --hold "$HOLD" --every 500 --max-latency 2000
# every connection, the dropped ones too: an idle flood must show in the log
logged_each "idle flood" "$LOG0" $(($(fig idle opened) + $(fig idle_legit requests) + 1))
check "broker still running after the idle flood" broker_alive

log "slow drip: $DRIP_N connections sending a byte every ${DRIP_MS} ms, held ${DRIP_HOLD}s"
LOG0=$(log_lines)
load_tool idle --user "$(ident "$MALLORY")" --legit-user "$(ident "$ALICE")" \
	--idle "$DRIP_N" --drip "$DRIP_MS" --hold "$DRIP_HOLD" --every 1000 --max-latency 2000
logged_each "slow drip" "$LOG0" $(($(fig idle opened) + $(fig idle_legit requests) + 1))
check "broker still running after the slow drip" broker_alive

log "malformed traffic"
load_tool malformed --user "$(ident "$ALICE")" --garbage "$GARBAGE"
check "broker still running after malformed traffic" broker_alive

log "over the per-user bound: a request waits its turn instead of being turned away"
# max-requests-per-user 1, and one of alice's connections holds her slot for 4 s
TIGHT=$T/tight.sock
printf 'lock-file %s\nmax-requests-per-user 1\n' "$T/quota.lock" | put_file "$T/tight.conf" root:root 0644
MAIN_PID=$BROKER_PID
broker_start "$TIGHT" "$T/tight.conf"
TIGHT_PID=$BROKER_PID
BROKER_PID=$MAIN_PID
timeout -k 5 30 "$LOAD" idle --socket "$TIGHT" --user "$(ident "$ALICE")" \
	--legit-user "$(ident "${USERS[0]}")" --idle 1 --hold 4 --every 1000 >"$T/tight.out" 2>&1 &
HOLD_PID=$!
ONTAP_PIDS+=("$HOLD_PID")
sleep 1
served=0
for i in 1 2 3 4 5; do
	ONTAP_SOCKET=$TIGHT helper_call "waits-$i" "$ALICE"
	if [ "$RC" -eq 0 ] && [ -z "$ERR" ]; then
		served=$((served + 1))
	else
		log "waits $i: rc=$RC $ERR"
	fi
done
check_eq "over the per-user bound: served in turn, 5 times out of 5" 5 "$served"
stop_pid "$HOLD_PID"
stop_pid "$TIGHT_PID"
forget_pid "$HOLD_PID"
forget_pid "$TIGHT_PID"

log "a client killed at every point of the exchange"
load_tool killpoints --user "$(ident "$ALICE")" --user "$(ident "${USERS[0]}")" --rounds "$ROUNDS"
check "broker still running after the killed clients" broker_alive

# the killed broker's workers finish on their own; none may linger past the deadline
MYNS=$(readlink /proc/self/ns/net)
stray_workers() {
	local p n=0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/net" 2>/dev/null)" = "$MYNS" ] || continue
		[ "$(cat "$p/comm" 2>/dev/null)" = ontap-broker ] || continue
		[ "${p#/proc/}" = "$BROKER_PID" ] && continue
		n=$((n + 1))
	done
	echo "$n"
}
no_stray_workers() { [ "$(stray_workers)" -eq 0 ]; }

# sigkill_round LABEL [--kill-tree]: SIGKILL the broker (or it and everything
# below it, as a supervisor killing its group would) in the middle of a
# flood; then restart it and time the first grant
sigkill_round() {
	local label=$1 old=$BROKER_PID recover
	shift
	log "$label: the broker killed with SIGKILL under load"
	load_tool flood "${USER_OPTS[@]}" --requests "$KILL_REQUESTS" --concurrency 32 \
		--broker-pid "$BROKER_PID" --kill-broker-after "$KILL_AFTER" --max-seconds 120 "$@"
	stop_pid "$old"
	forget_pid "$old"
	check "$label: the killed broker is gone" proc_gone "$old"

	# what a user of the real helper sees meanwhile
	helper_call "dead-$label" "$ALICE"
	check_eq "$label: helper, broker dead: exit 1, no tap" "1 " "$RC $OUT"
	check_has "$label: helper, broker dead: says the broker cannot be reached" \
		"cannot reach ontap-broker at \`$SOCK': Connection refused" "$ERR"
	check "$label: helper, broker dead: answered within 1 s ($MS ms)" test "$MS" -lt 1000
	BROKER_PID=0
	check "$label: no worker of the killed broker outlives its 10 s deadline" \
		wait_for 130 no_stray_workers
	check "$label: no half-made tap left" wait_for 50 taps_are "$BASE_TAPS"

	log "$label: a restarted broker serves at once"
	"$BUILD/ontap-broker" --config "$CONF" --socket "$SOCK" --acl "$ACL/bridge.conf" 2>>"$LOGF" &
	BROKER_PID=$!
	ONTAP_PIDS+=("$BROKER_PID")
	load_tool probe --user "$(ident "$ALICE")" --timeout-ms 5000
	recover=$(fig probe ms)
	printf 'recover %s ms=%s\n' "$label" "${recover:-none}" >>"$FIGS"
	check "$label: restarted broker: first grant within 2 s of its start (${recover:-none} ms)" \
		awk -v ms="${recover:-99999}" 'BEGIN { exit !(ms < 2000) }'
	helper_call "restarted-$label" "$ALICE"
	check_eq "$label: helper, restarted broker: exit 0" 0 "$RC"
	check_match "$label: helper, restarted broker: a tap on br0" \
		'^tap=tap[0-9]+ mtu=1500 .* master=br0 ' "$OUT"
}
sigkill_round sigkill-listener
sigkill_round sigkill-tree --kill-tree
check "broker log: no ASan/UBSan report" \
	bash -c "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$LOGF'"

echo "# figures ($MODE):"
sed 's/^/#   /' "$FIGS"
if [ -n "${ONTAP_FIGURES:-}" ]; then
	cp "$FIGS" "$ONTAP_FIGURES"
fi
finish

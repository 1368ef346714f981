#!/bin/bash
# Regression tests of the request path (issue 11) and of groups shed in a
# user namespace (issue 12, item 1), as root, in its own mount and network
# namespaces, with users made for the test.  On the broker of the old
# design (one worker forked per request, running as the requester, that
# wrote the audit record and took the quota lock itself) every part but
# idle fails; idle is a guarantee that design gave, kept here because the
# new queueing could lose it:
#   reuse    a second request of one identity is served without a fork, and
#            no other identity (uid, gid, groups) ever reaches that worker
#   burst    16- and 64-way bursts from one user, default configuration
#   idle     500 idle connections from one user leave another's latency
#   rlimit   RLIMIT_FSIZE / RLIMIT_NOFILE put by the requester on its own
#            processes under the broker: no grant without a whole record,
#            in listener mode and with --inetd
#   userns   supplementary groups shed (setgroups(0) in a user namespace
#            mapped with newuidmap/newgidmap, or setpriv outside one) still
#            count for group-readable deny rules and group quotas, and a gid
#            claimed inside the namespace is not the one recorded
#   stop     a user SIGSTOPs its own processes under the broker before its
#            request, after its answer, and all the time while it asks with
#            the quota lock in use: others are granted, its own stalled
#            requests are refused at the deadline with a record, and
#            SIGTERM ends the broker within deadline + 5 s, leaving nothing
#   usage: requestpath.sh BUILD_DIR     (as root)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
require_root
BUILD=$(realpath -e "$1")
for c in pgrep prlimit strace newuidmap newgidmap; do
	command -v "$c" >/dev/null || die "missing command: $c (bash tests/deps.sh installs it)"
done
enter_test_ns "$@"
init_test_env

stage_binaries "$BUILD" tests/pairparent tests/ontap-load
PP=$BIN/pairparent LOAD=$BIN/ontap-load

# the deadline every part relies on: the default, which the test never sets
DEADLINE=10

ALICE=${ONTAP_TAG}alice BOB=${ONTAP_TAG}bob CAROL=${ONTAP_TAG}carol
GRP=${ONTAP_TAG}g GRPX=${ONTAP_TAG}x
add_group "$GRP"
add_group "$GRPX"
add_user "$ALICE"
add_user "$BOB"
add_user "$CAROL" "$GRP"
GRP_GID=$(getent group "$GRP" | cut -d: -f3)
GRPX_GID=$(getent group "$GRPX" | cut -d: -f3)

make_bridge br0 1500 198.18.0.1/24
make_bridge br-grp 1500 198.18.1.1/24

ACL=$T/acl
mkdir -m 0755 "$ACL"
put_file "$ACL/bridge.conf" root:root 0644 <<-EOF
	allow br0
	allow br-grp
	include $ACL/deny-grp.conf
EOF
# what only members of the group may read: a requester who sheds the group
# would have it skipped as unreadable
put_file "$ACL/deny-grp.conf" root:"$GRP" 0640 <<<"deny br-grp"

# broker A: the default configuration but where the quota lock lives (in
# our temp dir, not the host's /run); no bound of any kind
put_file "$T/a.conf" root:root 0644 <<<"lock-file $T/a.lock"
# broker B: a group quota, so the quota lock is taken on every request
put_file "$T/b.conf" root:root 0644 <<-EOF
	lock-file $T/b.lock
	max-taps group $GRP 2
EOF

# start_b NAME: broker NAME (a or b) on $T/NAME.sock, log $T/NAME.log;
# sets NAME_PID (A_PID, B_PID)
start_b() {
	local n=$1
	rm -f "$T/$n.sock"
	"$BUILD/ontap-broker" --config "$T/$n.conf" --socket "$T/$n.sock" \
		--acl "$ACL/bridge.conf" 2>>"$T/$n.log" &
	ONTAP_PIDS+=("$!")
	printf -v "${n^^}_PID" %s "$!"
	wait_for 100 test -S "$T/$n.sock" || { cat "$T/$n.log" >&2; die "broker $n did not listen"; }
}

# ask LABEL SOCK USER GROUPS BRIDGE: one request with pairparent --connect,
# as USER with GROUPS (run_as's); ANS, its answer line
ask() {
	local label=$1 sock=$2 user=$3 groups=$4 br=$5
	run_as "$user" "$groups" "$PP" --connect "$sock" --timeout 30 "$br" \
		>"$T/$label.out" 2>"$T/$label.err" </dev/null || true
	ANS=$(answer_of "$T/$label.out")
}

# answer_of FILE: pairparent's answer line in FILE (after "connected" or
# "started broker=N", if any)
answer_of() { grep -m 1 -E '^(grant|refuse|eof) ' "$1" || true; }

# after_ms: ANS's after_ms, 999999 when there is none
after_ms() {
	local v
	v=$(printf '%s\n' "$ANS" | sed -n 's/.* after_ms=\([0-9]*\).*/\1/p')
	echo "${v:-999999}"
}

# granted_in DESC SECONDS: ANS is a grant on br0 that came within SECONDS
granted_in() {
	if [[ $ANS == "grant tap="*" master=br0 "* ]] && [ "$(after_ms)" -lt $(($2 * 1000)) ]; then
		pass "$1"
	else
		fail "$1" "want: a grant on br0 within $2 s" "got:  $ANS"
	fi
}

# records LOG [UID]: the audit records (of UID)
records() {
	grep -E "^ontap-broker: time=[^ ]+ verdict=[a-z]+ uid=${2:-[0-9?]+} " "$1" || true
}

# whole_grant LOG FROM UID TAP: past LOG's byte FROM, one whole grant
# record of UID's tap TAP, up to its closing reason="..." and the newline
# (tap names are reused: only what the request added counts)
whole_grant() {
	local n
	n=$(tail -c +$(($2 + 1)) "$1" |
		grep -cE "^ontap-broker: time=[^ ]+ verdict=grant uid=$3 .* tap=$4 .* reason=\"([^\"\\\\]|\\\\.)*\"\$" || true)
	[ "$n" -eq 1 ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]
}

# as_requester USER CMD...: what the requester may do to its own processes
# under the broker; the kernel decides, as USER
as_requester() {
	timeout -k 5 30 setpriv --reuid "$1" --regid "$(id -gn "$1")" --init-groups -- "${@:2}"
}

# the groups line of a process's status, as numbers
groups_of() { sed -n 's/^Groups:\t*//p' "/proc/$1/status" 2>/dev/null | tr -s ' \t' ' '; }

start_b a
start_b b

# ---- reuse: a worker per identity, no fork for its next request -----------------
log "reuse: a second request of one identity is served by the same worker, without a fork"
ask reuse1 "$T/a.sock" "$CAROL" init br0
check_match "carol's first request: granted" '^grant tap=[^ ]+ .* master=br0 ' "$ANS"
W1=$(children_of "$A_PID" "$CAROL")
check_eq "one process of carol's uid under the broker after her answer (an idle worker)" 1 \
	"$(printf '%s\n' "$W1" | grep -c . || true)"
KIDS_BEFORE=$(children_of "$A_PID" | sort | tr '\n' ' ')
# forks_during PID CMD...: runs CMD while strace watches PID (the listener
# alone, not its children) and prints how many processes PID created
forks_during() {
	local pid=$1 st
	shift
	strace -qq -p "$pid" -e trace=fork,vfork,clone,clone3 -o "$T/strace.out" &
	st=$!
	ONTAP_PIDS+=("$st")
	# shellcheck disable=SC2317 # called through wait_for
	traced() { [ "$(sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$pid/status")" = "$st" ]; }
	wait_for 100 traced || die "strace did not attach to $pid"
	"$@"
	stop_pid "$st"
	forget_pid "$st"
	grep -cE '^(clone|clone3|fork|vfork)\(' "$T/strace.out" || true
}
check_eq "carol's second request: the listener forked nothing for it" 0 \
	"$(forks_during "$A_PID" ask reuse2 "$T/a.sock" "$CAROL" init br0)"
ANS=$(answer_of "$T/reuse2.out")
check_match "... and it was granted" '^grant tap=[^ ]+ .* master=br0 ' "$ANS"
check "... where bob's first request needs a fork (the method sees forks)" \
	test "$(forks_during "$A_PID" ask reuse-bob "$T/a.sock" "$BOB" init br0)" -ge 1
check_eq "... the same worker pid is carol's after it" "$W1" "$(children_of "$A_PID" "$CAROL")"
BOBW=$(children_of "$A_PID" "$BOB")
check_eq "... and no child of the broker came or went but bob's worker" \
	"$(printf '%s\n' "$KIDS_BEFORE" "$BOBW" | tr ' ' '\n' | grep . | sort | tr '\n' ' ')" \
	"$(children_of "$A_PID" | sort | tr '\n' ' ')"
# Carol's idle worker is stopped (by us): a connection it served would
# stall until the deadline.  Others' identities must each get their own.
# shellcheck disable=SC2086 # several pids where a broker forks per request
[ -z "$W1" ] || kill -STOP $W1
declare -A OTHER=(
	[groups]="setpriv --reuid $CAROL --regid $CAROL --groups $CAROL,$GRP,$GRPX"
	[gid]="setpriv --reuid $CAROL --regid $GRP --init-groups"
	[uid]="setpriv --reuid $BOB --regid $BOB --init-groups"
)
for k in groups gid uid; do
	mkfifo -m 0600 "$T/other-$k.in"
	# shellcheck disable=SC2086 # the setpriv command line, split on purpose
	timeout -k 5 60 ${OTHER[$k]} -- "$PP" --connect "$T/a.sock" --wait-line --timeout 30 br0 \
		<"$T/other-$k.in" >"$T/other-$k.out" 2>"$T/other-$k.err" &
	OP=$!
	ONTAP_PIDS+=("$OP")
	exec {GATE}>"$T/other-$k.in"
	wait_for 100 grep -q '^connected$' "$T/other-$k.out" || true
	# its worker: a child of the broker that was not there before (bob's
	# is there since his first request)
	new_kids() {
		children_of "$A_PID" | grep -vxF -e "$W1" -e "$BOBW" -e "$(tr ' ' '\n' <<<"$KIDS_BEFORE" | grep .)" || true
	}
	[ "$k" = uid ] || wait_for 50 test -n "$(new_kids)" || true
	NEW=$(new_kids)
	case $k in
	groups) check_match "carol with an extra group ($GRPX) has a worker of her own, with $GRPX" \
		"(^| )${GRPX_GID}( |\$)" " $(for p in $NEW; do groups_of "$p"; done)" ;;
	gid) check_match "carol with gid $GRP has a worker of her own, with that gid" \
		"^Gid:[[:space:]]+${GRP_GID}[[:space:]]" "$(for p in $NEW; do grep '^Gid:' "/proc/$p/status"; done)" ;;
	uid) NEW=$BOBW ;;
	esac
	exec {GATE}>&-
	wait "$OP" || true
	forget_pid "$OP"
	ANS=$(answer_of "$T/other-$k.out")
	granted_in "... ($k) granted at once, while carol's worker $W1 is stopped" 5
	KIDS_BEFORE="$KIDS_BEFORE $NEW"
done
check_eq "carol's stopped worker served none of them: it is still idle, still there" \
	"$W1" "$(children_of "$A_PID" "$CAROL" | grep -xF "$W1" || true)"
# shellcheck disable=SC2086
[ -z "$W1" ] || kill -CONT $W1
check_eq "carol again, after the others: no fork (her worker serves her)" 0 \
	"$(forks_during "$A_PID" ask reuse3 "$T/a.sock" "$CAROL" init br0)"
check_match "... and she is granted" '^grant tap=[^ ]+ .* master=br0 ' "$(answer_of "$T/reuse3.out")"

# ---- burst: one user, the default configuration ---------------------------------------
# burst N ROUNDS: ROUNDS times N qemu calls from alice, released at once
# (each waits on one FIFO until it is closed); each closes its tap as soon
# as it has it
burst() {
	local n=$1 rounds=$2 r i pids granted=0 total=0 t0=$SECONDS gate
	for ((r = 0; r < rounds; r++)); do
		pids=()
		rm -f "$T/burst.gate"
		mkfifo -m 0644 "$T/burst.gate"
		for ((i = 0; i < n; i++)); do
			# shellcheck disable=SC2016 # for the inner shell
			spawn_as "$T/burst.gate" "$T/burst$n-$r-$i.out" "$T/burst$n-$r-$i.err" "$ALICE" init \
				env ONTAP_SOCKET="$T/a.sock" sh -c 'read -r go; exec "$@"' sh "$QC" "$HELPER" br0
			pids+=("$SPAWN_PID")
		done
		exec {gate}>"$T/burst.gate"
		# time for every caller to reach its read; end of file then frees all
		sleep 1
		exec {gate}>&-
		for i in "${pids[@]}"; do
			wait "$i" || true
			forget_pid "$i"
		done
	done
	granted=$(cat "$T"/burst"$n"-*.out 2>/dev/null | grep -c '^tap=tap[0-9]* .* master=br0 ' || true)
	total=$((n * rounds))
	check_eq "$n-way burst from alice: $total of $total calls granted (in $((SECONDS - t0)) s)" \
		"$total" "$granted"
	[ "$granted" -eq "$total" ] ||
		log "$(cat "$T"/burst"$n"-*.err | grep -v -e '^helper exit=' -e '^qemu-call: ' | sort | uniq -c | head -5)"
}
log "burst: one user's parallel calls, default configuration (nothing raised in $T/a.conf)"
burst 16 8
burst 64 4

# ---- idle: a flood of idle connections ----------------------------------------------------
log "idle: 500 idle connections from alice; bob's latency"
ident() { printf '%s:%s:' "$(id -u "$1")" "$(id -g "$1")"; }
FIGS=$T/figures
# run_load WHAT ARGS...: ontap-load's RESULT lines as checks, FIGURE lines kept
run_load() {
	local what=$1 line rc=0
	shift
	while IFS= read -r line; do
		case $line in
		"RESULT PASS "*) pass "$what: ${line#RESULT PASS }" ;;
		"RESULT FAIL "*) fail "$what: ${line#RESULT FAIL }" ;;
		"FIGURE "*) printf '%s\n' "${line#FIGURE }" >>"$FIGS"; log "$line" ;;
		"EXIT "*) rc=${line#EXIT } ;;
		*) log "$line" ;;
		esac
	done < <(timeout -k 5 120 "$LOAD" "$@" --socket "$T/a.sock" 2>&1 || echo "EXIT $?")
	[ "$rc" -le 1 ] || fail "ontap-load $what ran to its end" "exit status $rc"
}
fig() {
	awk -v n="$1" -v k="$2" '$1 == n { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) v = a[2] } } END { print v }' "$FIGS"
}
run_load "before the flood" probe --user "$(ident "$BOB")" --timeout-ms 5000
BEFORE=$(fig probe ms)
run_load "idle flood" idle --user "$(ident "$ALICE")" --legit-user "$(ident "$BOB")" \
	--idle 500 --hold 8 --every 500 --max-latency 2000
DURING=$(fig idle_legit max_ms)
check "bob's slowest request during the flood (${DURING:-?} ms) within 2 s of his before it (${BEFORE:-?} ms)" \
	awk -v a="${BEFORE:-x}" -v b="${DURING:-x}" 'BEGIN { exit !(a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b <= a + 2000) }'

# ---- rlimit: the requester's limits on its own processes under the broker ------------------
log "rlimit: RLIMIT_FSIZE and RLIMIT_NOFILE on alice's processes under the broker, before her request"
# limit_all PARENT USER LOG LIMITS...: prlimit, as USER, on each of USER's
# processes under PARENT (soft limits); fsize=+1 means the log's size + 1
limit_all() {
	local top=$1 user=$2 logf=$3 p l
	local -a args
	shift 3
	for p in $(process_tree "$top"); do
		[ "$(stat -c %u "/proc/$p" 2>/dev/null)" = "$(id -u "$user")" ] || continue
		args=()
		for l in "$@"; do
			[ "$l" != fsize=+1 ] || l=fsize=$(($(stat -c %s "$logf") + 1))
			# the soft limit is what write(2) and recvmsg(2) obey; the hard
			# one is left, so that a later round may set another
			args+=("--$l:")
		done
		as_requester "$user" prlimit --pid "$p" "${args[@]}" 2>&1 | sed "s/^/# $p: /" || true
		LIMITED=$((LIMITED + 1))
	done
}
# rlimit_round MODE LABEL LIMITS...: MODE listener (broker A) or inetd
rlimit_round() {
	local mode=$1 label=$2 logf=$T/a.log op tap from
	shift 2
	LIMITED=0
	[ "$mode" = listener ] || logf=$T/inetd.log
	from=$(stat -c %s "$logf")
	mkfifo -m 0600 "$T/rl-$label.in"
	if [ "$mode" = listener ]; then
		spawn_as "$T/rl-$label.in" "$T/rl-$label.out" "$T/rl-$label.err" "$ALICE" init \
			"$PP" --connect "$T/a.sock" --wait-line --timeout 30 br0
		op=$SPAWN_PID
		exec {GATE}>"$T/rl-$label.in"
		wait_for 100 grep -q '^connected$' "$T/rl-$label.out" || true
		# the worker that took the connection (reused or new) is alice's
		wait_for 50 test -n "$(children_of "$A_PID" "$ALICE")" || true
		limit_all "$A_PID" "$ALICE" "$logf" "$@"
	else
		"$PP" --as "$ALICE" --wait-line --timeout 30 br0 "$BUILD/ontap-broker" --inetd \
			--config "$T/a.conf" --acl "$ACL/bridge.conf" \
			<"$T/rl-$label.in" >"$T/rl-$label.out" 2>>"$logf" &
		op=$!
		ONTAP_PIDS+=("$op")
		exec {GATE}>"$T/rl-$label.in"
		wait_for 100 grep -q '^started broker=' "$T/rl-$label.out" || true
		local inst
		inst=$(sed -n 's/^started broker=//p' "$T/rl-$label.out")
		wait_for 50 test -n "$(children_of "${inst:-1}" "$ALICE")" || true
		limit_all "${inst:-1}" "$ALICE" "$logf" "$@"
	fi
	exec {GATE}>&-
	wait "$op" || true
	forget_pid "$op"
	ANS=$(answer_of "$T/rl-$label.out")
	tap=$(printf '%s\n' "$ANS" | sed -n 's/^grant tap=\([^ ]*\) .*/\1/p')
	if [ "$LIMITED" -eq 0 ]; then
		fail "$mode, $*: alice had a process under the broker to limit" "none found"
	elif [ -n "$tap" ] && whole_grant "$logf" "$from" "$(id -u "$ALICE")" "$tap"; then
		pass "$mode, $* on $LIMITED process(es) of alice: granted, with its whole record"
	elif [[ $ANS == refuse* ]]; then
		pass "$mode, $* on $LIMITED process(es) of alice: refused, no grant ($ANS)"
	else
		fail "$mode, $* on $LIMITED process(es) of alice: no grant without a whole record" \
			"answer: ${ANS:-none}" "log tail: $(tail -c 300 "$logf" | od -An -c | tr -s ' ' | tail -n 3)"
	fi
}
: >"$T/inetd.log"
for mode in listener inetd; do
	# in this order: a reused worker keeps the limits its requester set
	rlimit_round "$mode" "$mode-fsize" fsize=+1
	rlimit_round "$mode" "$mode-fsize0" fsize=0
	rlimit_round "$mode" "$mode-nofile" nofile=4
	rlimit_round "$mode" "$mode-both" fsize=+1 nofile=4
done
check_eq "broker A's log ends with a whole line" '\n' "$(tail -c 1 "$T/a.log" | od -An -c | tr -d ' ')"

# ---- userns: groups a requester cannot shed ----------------------------------------------
log "userns: carol sheds her groups (setgroups(0) in a user namespace of her own; setpriv outside one)"
read -r SUBUID SUBGID <<<"$(add_subids "$CAROL")"
if [ -z "$SUBUID" ] || [ -z "$SUBGID" ]; then die "no subordinate ids for $CAROL"; fi
CUID=$(id -u "$CAROL") CGID=$(id -g "$CAROL")
# in_userns LABEL BRIDGE SETPRIV-ARGS...: as carol, a new user namespace in
# which 0 is carol and 1..65536 her subordinate ids, mapped from outside
# with newuidmap/newgidmap (setgroups stays allowed there); inside it,
# setpriv SETPRIV-ARGS, then pairparent asks for BRIDGE on broker B.
in_userns() {
	local label=$1 br=$2 pid
	shift 2
	mkfifo -m 0600 "$T/ns-$label.in"
	# shellcheck disable=SC2016 # expanded by the inner shell
	spawn_as "$T/ns-$label.in" "$T/ns-$label.out" "$T/ns-$label.err" "$CAROL" init \
		unshare --user -- sh -c 'read -r go && exec setpriv "$@"' sh "$@" -- \
		"$PP" --connect "$T/b.sock" --timeout 30 "$br"
	exec {GATE}>"$T/ns-$label.in"
	# the unshare'd shell: carol's, in a user namespace not ours
	ns_ready() {
		local p
		for p in $(process_tree "$SPAWN_PID"); do
			[ "$(readlink "/proc/$p/ns/user")" != "$(readlink /proc/self/ns/user)" ] &&
				[ "$(cat "/proc/$p/comm")" = sh ] && pid=$p && return 0
		done 2>/dev/null
		return 1
	}
	if wait_for 100 ns_ready; then
		if ! as_requester "$CAROL" newuidmap "$pid" 0 "$CUID" 1 1 "$SUBUID" 65536 ||
			! as_requester "$CAROL" newgidmap "$pid" 0 "$CGID" 1 1 "$SUBGID" 65536; then
			log "newuidmap/newgidmap for $pid failed"
		fi
		log "uid_map of $pid: $(tr -s ' \n' ' ' <"/proc/$pid/uid_map") setgroups: $(cat "/proc/$pid/setgroups")"
	fi
	printf 'go\n' >&"$GATE"
	exec {GATE}>&-
	wait "$SPAWN_PID" || true
	forget_pid "$SPAWN_PID"
	ANS=$(answer_of "$T/ns-$label.out")
	NSERR=$(cat "$T/ns-$label.err")
	REC=$(records "$T/b.log" "$CUID" | tail -n 1)
}
ask ns-ctl-bob "$T/b.sock" "$BOB" init br-grp
check_match "control: bob (not in $GRP) is granted br-grp" '^grant tap=[^ ]+ .* master=br-grp ' "$ANS"
ask ns-ctl-carol "$T/b.sock" "$CAROL" init br-grp
check_match "control: carol (in $GRP, reads the include) is denied br-grp" '^refuse errno=' "$ANS"
in_userns clear br-grp --clear-groups
check_match "(a) in her user namespace with no groups: still denied br-grp" '^refuse errno=' "$ANS $NSERR"
check_match "... recorded as a deny, her database groups shown" \
	" verdict=deny uid=$CUID gid=$CGID groups=[^ ]*\\b$GRP_GID\\b" "$REC"
# the simple case: a group dropped with setpriv, no namespace
ask ns-dropped "$T/b.sock" "$CAROL" "$CAROL" br-grp
check_match "setpriv --groups $CAROL (without $GRP), initial namespace: still denied br-grp" \
	'^refuse errno=' "$ANS"
# (b) a group quota: carol holds 2 taps as herself, the group's whole quota
HOLD=()
for i in 1 2; do
	spawn_as /dev/null "$T/gq$i.out" "$T/gq$i.err" "$CAROL" init \
		env ONTAP_SOCKET="$T/b.sock" "$QC" --hold 40 "$HELPER" br0
	HOLD+=("$SPAWN_PID")
	wait_for 100 test -s "$T/gq$i.out" || true
done
check_eq "carol holds 2 taps on br0: $GRP's quota (max-taps group $GRP 2)" 2 \
	"$(cat "$T"/gq?.out | grep -c '^tap=' || true)"
ask gq-dropped "$T/b.sock" "$CAROL" "$CAROL" br0
check_match "setpriv without $GRP: refused, the group's quota" '^refuse errno=122 ' "$ANS"
in_userns quota br0 --clear-groups
check_match "(b) in her user namespace with no groups: refused, the group's quota" \
	'^refuse errno=122 ' "$ANS $NSERR"
check_has "... saying which group" "group $GRP_GID has 2 of 2 taps" "$ANS"
for p in "${HOLD[@]}"; do stop_pid "$p"; forget_pid "$p"; done
# (c) a gid claimed inside the namespace: a subordinate gid outside
in_userns regid br0 --clear-groups --regid 1000
check_match "(c) with gid 1000 inside (gid $((SUBGID + 999)) outside): the request is answered" \
	'^(grant|refuse) ' "$ANS $NSERR"
check_match "... the record shows her passwd primary gid $CGID, not $((SUBGID + 999))" \
	" uid=$CUID gid=$CGID groups=" "$REC"
check_eq "... and no field of it names $((SUBGID + 999))" "" \
	"$(printf '%s\n' "$REC" | grep -oE "(gid=|groups=|,)$((SUBGID + 999))\\b" || true)"

# ---- stop: a user stops its own processes under the broker ----------------------------------
# stop_mine PARENT USER: as USER, SIGSTOP each of USER's children of PARENT;
# prints how many
stop_mine() {
	local pids
	pids=$(children_of "$1" "$2" | tr '\n' ' ')
	# shellcheck disable=SC2086 # a list of pids
	[ -z "$pids" ] || as_requester "$2" kill -STOP $pids || true
	wc -w <<<"$pids"
}

log "stop (1): alice connects 72 times, stops her processes under the broker, then asks"
mkfifo -m 0600 "$T/gate"
ST=()
for ((i = 0; i < 72; i++)); do
	spawn_as "$T/gate" "$T/st$i.out" "$T/st$i.err" "$ALICE" init \
		"$PP" --connect "$T/a.sock" --wait-line --timeout 40 br0
	ST+=("$SPAWN_PID")
done
exec {GATE}>"$T/gate"
all_connected() { [ "$(cat "$T"/st*.out 2>/dev/null | grep -c '^connected$')" -ge 72 ]; }
check "alice's 72 connections are accepted" wait_for 150 all_connected
sleep 1
N1=$(stop_mine "$A_PID" "$ALICE")
sleep 0.5
N2=$(stop_mine "$A_PID" "$ALICE")
log "alice stopped $N1 then $N2 of her processes under the broker"
T_GO=$SECONDS
exec {GATE}>&-
ask stop1-bob "$T/a.sock" "$BOB" init br0
granted_in "bob is granted within the deadline meanwhile" "$DEADLINE"
for p in "${ST[@]}"; do
	wait_for $(((DEADLINE + 15) * 10)) proc_gone "$p" || true
	stop_pid "$p"
	forget_pid "$p"
done
log "alice's clients all answered in $((SECONDS - T_GO)) s"
REFUSED=$(cat "$T"/st*.out | grep -c '^refuse errno=110 ' || true)
check_eq "alice's 72 stalled requests: each refused at the deadline (ETIMEDOUT)" 72 "$REFUSED"
# after_ms counts from the request, the deadline from the connection
# (accepted before alice stopped her workers): only the upper bound is exact
check_eq "... none later than the deadline + 5 s" "" \
	"$(cat "$T"/st*.out | sed -n 's/^refuse .*after_ms=\([0-9]*\) .*/\1/p' |
		awk -v d=$((DEADLINE * 1000)) '$1 > d + 5000' | head -n 3)"
check_eq "... each with its audit record" 72 \
	"$(records "$T/a.log" "$(id -u "$ALICE")" | grep -c ' verdict=refuse .* errno=110 ' || true)"
check_eq "... the $N1 her stopped workers held: their workers ended by the broker" "$N1" \
	"$(cat "$T"/st*.out | grep -c "^refuse errno=110 .*reason=no answer within $DEADLINE s (the worker was ended)" || true)"

log "stop (2): alice stops her idle worker after her answer"
ask stop2-a "$T/a.sock" "$ALICE" init br0
check_match "alice is granted" '^grant tap=' "$ANS"
N=$(stop_mine "$A_PID" "$ALICE")
check_eq "alice has one process under the broker to stop, and stops it" 1 "$N"
ask stop2-bob "$T/a.sock" "$BOB" init br0
granted_in "bob is granted meanwhile" "$DEADLINE"
ask stop2-a2 "$T/a.sock" "$ALICE" init br0
check_match "alice's next request: refused at the deadline, the worker ended" \
	"^refuse errno=110 after_ms=([0-9]+) reason=no answer within $DEADLINE s" "$ANS"
check_match "... with its record" " verdict=refuse uid=$(id -u "$ALICE") .* errno=110 reason=\"no answer within" \
	"$(records "$T/a.log" "$(id -u "$ALICE")" | tail -n 1)"
ask stop2-a3 "$T/a.sock" "$ALICE" init br0
check_match "... and her request after that is granted" '^grant tap=' "$ANS"

log "stop (3): alice stops her processes under broker B all the time while she asks (quota lock in use)"
# who holds the quota lock: /proc/locks (world-readable) names the pid
# that took the flock
LOCK_INODE=$(stat -c %i "$T/b.lock")
lock_holders() {
	awk -v i=":$LOCK_INODE" '$2 == "FLOCK" && substr($6, length($6) - length(i) + 1) == i { print $5 }' /proc/locks
}
# the stopper, as alice, for 8 s: whatever holds the quota lock, read from
# /proc/locks without a fork, and every 20th turn every child of the broker
# with her uid, gets SIGSTOP (what is not hers, the kernel refuses)
# shellcheck disable=SC2016
as_requester "$ALICE" bash -c '
	end=$((SECONDS + 8)) n=0
	while [ $SECONDS -lt $end ]; do
		while read -r _ kind _ _ pid dev _; do
			[ "$kind" != FLOCK ] || [ "${dev##*:}" != "$2" ] || kill -STOP "$pid" 2>/dev/null
		done </proc/locks
		n=$((n + 1))
		[ $((n % 20)) -ne 0 ] || kill -STOP $(pgrep -P "$1" -U "$(id -u)") 2>/dev/null
	done' stopper "$B_PID" "$LOCK_INODE" &
STOPPER=$!
ONTAP_PIDS+=("$STOPPER")
# alice asks all the time meanwhile: 8 callers, one call after another
AL=()
for ((i = 0; i < 8; i++)); do
	# shellcheck disable=SC2016
	spawn_as /dev/null "$T/st3-$i.out" "$T/st3-$i.err" "$ALICE" init \
		env ONTAP_SOCKET="$T/b.sock" bash -c 'end=$((SECONDS + 8))
			while [ $SECONDS -lt $end ]; do "$@"; done' caller "$QC" "$HELPER" br0
	AL+=("$SPAWN_PID")
done
(
	end=$((SECONDS + 9))
	while [ $SECONDS -lt $end ]; do
		for p in $(lock_holders); do
			[ "$(stat -c %u "/proc/$p" 2>/dev/null)" != "$(id -u "$ALICE")" ] || echo "$p"
		done
		sleep 0.05
	done
) >"$T/lock-holders" &
SAMPLER=$!
ONTAP_PIDS+=("$SAMPLER")
for r in 1 2 3; do
	sleep 1.5
	ask "stop3-bob$r" "$T/b.sock" "$BOB" init br0
	granted_in "bob's request $r, while alice stops hers: granted within the deadline" "$DEADLINE"
done
wait "$STOPPER" || true
forget_pid "$STOPPER"
for p in "${AL[@]}"; do
	wait_for $(((DEADLINE + 15) * 10)) proc_gone "$p" || true
	stop_pid "$p"
	forget_pid "$p"
done
log "alice's calls meanwhile: $(cat "$T"/st3-*.out | grep -c '^tap=' || true) granted, $(cat "$T"/st3-*.err | grep -c '^helper exit=[1-9]' || true) failed"
wait "$SAMPLER" || true
forget_pid "$SAMPLER"
check_eq "no process of alice's ever held broker B's quota lock meanwhile (/proc/locks, every 50 ms)" "" \
	"$(sort -u "$T/lock-holders" | tr '\n' ' ')"
ask stop3-bob-after "$T/b.sock" "$BOB" init br0
granted_in "bob once alice is done: granted" "$DEADLINE"

log "stop (4): SIGTERM with alice's processes stopped, one of them holding her request"
mkfifo -m 0600 "$T/term.in"
spawn_as "$T/term.in" "$T/term.out" "$T/term.err" "$ALICE" init \
	"$PP" --connect "$T/a.sock" --wait-line --timeout 40 br0
TC=$SPAWN_PID
exec {GATE}>"$T/term.in"
wait_for 100 grep -q '^connected$' "$T/term.out" || true
sleep 0.5
stop_mine "$A_PID" "$ALICE" >/dev/null
stop_mine "$B_PID" "$ALICE" >/dev/null
printf 'go\n' >&"$GATE"
exec {GATE}>&-
for b in A B; do
	pidvar=${b}_PID
	bp=${!pidvar}
	TREE=$(process_tree "$bp" | tr '\n' ' ')
	t0=$(date +%s%N)
	kill -TERM "$bp"
	wait_for $(((DEADLINE + 5) * 10)) proc_gone "$bp" || true
	ms=$((($(date +%s%N) - t0) / 1000000))
	check "broker $b ends on SIGTERM within $((DEADLINE + 5)) s (took $ms ms; its tree: $TREE)" proc_gone "$bp"
	left=""
	for p in $TREE; do proc_gone "$p" || left+=" $p"; done
	check_eq "... and leaves none of its processes behind" "" "$left"
	# ours all the same: ended here, so that the test users can be removed
	for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
	stop_pid "$bp"
	forget_pid "$bp"
done
wait "$TC" || true
forget_pid "$TC"
check_match "alice's request held by a stopped worker at SIGTERM: refused, not dropped" \
	'^refuse errno=' "$(answer_of "$T/term.out")"

finish

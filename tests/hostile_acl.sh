#!/bin/bash
# bridge.conf files that are hostile to their reader, against a running
# ontap-broker: huge, binary, deeply nested, looping, exponentially fanning
# out, includes that are a FIFO, /dev/zero, a directory, /proc files; and
# bridge names with every odd byte.  Each request must get one clear line
# promptly, one broker log line, and the broker must keep serving.
# As root, in its own mount and network namespaces.
#   usage: hostile_acl.sh BUILD_DIR     (as root)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
require_root
BUILD=$(realpath -e "$1")
enter_test_ns "$@"
init_test_env

stage_binaries "$BUILD"
PROMPT_MS=2000

ALICE=${ONTAP_TAG}a
add_user "$ALICE"
make_bridge br0 1500 198.18.0.1/24

ACL=$T/acl
MAIN=$ACL/bridge.conf
mkdir -m 0755 "$ACL"
put_file "$MAIN" root:root 0644 <<<"allow br0"
export ONTAP_SOCKET=$T/broker.sock
LOGF=$T/broker.log
# the quota lock in our temp dir, not in the host's /run
put_file "$T/ontap.conf" root:root 0644 <<<"lock-file $T/quota.lock"
"$BUILD/ontap-broker" --config "$T/ontap.conf" --socket "$ONTAP_SOCKET" --acl "$MAIN" 2>>"$LOGF" &
BROKER_PID=$!
ONTAP_PIDS+=("$BROKER_PID")
wait_for 100 test -S "$ONTAP_SOCKET" || { cat "$LOGF" >&2; die "ontap-broker did not listen"; }
BASE_TAPS=$(count_taps)

# audit records: one per request, whatever became of it
log_grep() { audit_lines "$LOGF"; }
log_lines() { log_grep | wc -l; }
log_at_least() { [ "$(log_lines)" -ge "$1" ]; }
broker_alive() { kill -0 "$BROKER_PID" 2>/dev/null; }

# ask LABEL [BRIDGE]: the real helper, called the way libvirt does (no
# shell: any byte but NUL reaches it); sets RC OUT ERR MS
ask() { helper_ask "$1" - "$ALICE" "${2:-br0}" --libvirt; }

# refused LABEL FRAGMENT: asks for br0 with the ACL as it is now
refused() {
	local label=$1 frag=$2 before
	before=$(log_lines)
	ask "$label"
	check_eq "$label: exit 1, no tap" "1 " "$RC $OUT"
	check_eq "$label: one line from ontap-helper" "1 ontap-helper:" \
		"$(printf '%s\n' "$ERR" | wc -l) $(printf '%s' "$ERR" | cut -d' ' -f1)"
	check_has "$label: says \"$frag\"" "$frag" "$ERR"
	check "$label: answered within $PROMPT_MS ms ($MS ms)" test "$MS" -lt "$PROMPT_MS"
	wait_for 30 log_at_least $((before + 1)) || true
	check_eq "$label: one broker log line" $((before + 1)) "$(log_lines)"
	check "$label: broker still running" broker_alive
}

granted() {
	local label=$1
	ask "$label" "${2:-br0}"
	check_eq "$label: granted" 0 "$RC"
	check_match "$label: a tap on ${2:-br0}" "^tap=tap[0-9]+ .* master=" "$OUT"
	check "$label: answered within $PROMPT_MS ms ($MS ms)" test "$MS" -lt "$PROMPT_MS"
}

# reset_main CONTENT...: a plain 0644 main file again, other files removed
reset_main() {
	rm -rf "$MAIN"
	find "$ACL" -mindepth 1 -delete
	printf '%s\n' "$@" | put_file "$MAIN" root:root 0644
}

# an error inside an included file; an error on a line of the main file
# (an include that cannot be read, say) is the main file's
INC="refused: error in an acl file included by \`$MAIN'"
PARSE="failed to parse default acl file \`$MAIN'"

log "huge files"
reset_main
head -c $((2 * 1024 * 1024)) < <(yes '# a comment in a huge file') >"$MAIN"
refused huge-main "$PARSE: File too large"
reset_main "include big.conf"
head -c $((2 * 1024 * 1024)) < <(yes 'allow br0') >"$ACL/big.conf"
refused huge-include "File too large"
reset_main "include sparse.conf"
truncate -s 10G "$ACL/sparse.conf"
refused sparse-10G-include "File too large"
reset_main
head -c $((1024 * 1024)) < <(yes 'allow br0') >"$MAIN"
granted exactly-1MiB-of-rules
reset_main
{ printf 'allow '; head -c 1000000 /dev/zero | tr '\0' x; echo; } >"$MAIN"
refused one-1MB-line "too long: 1000000"

log "binary files"
reset_main
head -c 65536 /dev/urandom >"$MAIN"
cp "$MAIN" "$T/random.bin"   # kept with ONTAP_TEST_KEEP=1, should it ever matter
refused binary-main "$PARSE"
reset_main "include bin.conf"
head -c 65536 /dev/urandom | tr -d '\0' >"$ACL/bin.conf"
refused binary-include-no-nul "$INC"
reset_main
printf 'allow br0\n\0allow br0\n' >"$MAIN"
refused nul-byte "NUL byte in line"
# acl.c shows odd bytes as \xNN; the user must see that, not \x5cxNN
reset_main
printf '\001x br0\n' >"$MAIN"
refused escaped-once "Unknown command \`\\x01x'"

log "nesting, loops, fan-out"
chain() { # chain N: main includes n1, n1 includes n2 ... nN allows br0
	local i
	reset_main "include n1.conf"
	for ((i = 1; i < $1; i++)); do
		echo "include n$((i + 1)).conf" >"$ACL/n$i.conf"
	done
	echo "allow br0" >"$ACL/n$1.conf"
	chmod 0644 "$ACL"/n*.conf
}
chain 8
granted nested-8-deep
chain 9
refused nested-9-deep "includes nested deeper than 8"
chain 200
refused nested-200-deep "includes nested deeper than 8"
reset_main "include a.conf"
echo "include b.conf" >"$ACL/a.conf"
echo "include a.conf" >"$ACL/b.conf"
refused loop-a-b "include loop"
reset_main "include $MAIN"
refused loop-self "include loop"
reset_main "include link.conf"
ln -s bridge.conf "$ACL/link.conf"
refused loop-through-symlink "include loop"
# each level includes the next 30 times: 30^8 reads if nothing bounds the
# total; a bound on depth alone is not enough
fanout() {
	local i j
	reset_main
	for ((i = 0; i <= 8; i++)); do
		f=$ACL/f$i.conf
		[ "$i" -eq 0 ] && f=$MAIN
		if [ "$i" -lt 8 ]; then
			for ((j = 0; j < 30; j++)); do echo "include f$((i + 1)).conf"; done >"$f"
		else
			echo "allow br0" >"$f"
		fi
		chmod 0644 "$f"
	done
}
fanout
refused fanout-30-by-8 "acl file"

log "includes that are not files"
reset_main "include fifo"
mkfifo -m 0666 "$ACL/fifo"
refused include-fifo "Invalid argument"
reset_main
rm -f "$MAIN"
mkfifo -m 0666 "$MAIN"
refused main-fifo "$PARSE: Invalid argument"
reset_main "include zero.conf"
ln -s /dev/zero "$ACL/zero.conf"
refused include-dev-zero "Invalid argument"
reset_main
rm -f "$MAIN"
ln -s /dev/zero "$MAIN"
refused main-dev-zero "$PARSE: Invalid argument"
reset_main "include dir.conf"
mkdir -m 0755 "$ACL/dir.conf"
refused include-directory "Is a directory"
reset_main
rm -f "$MAIN"
mkdir -m 0755 "$MAIN"
refused main-directory "$PARSE: Is a directory"
# the worker has become the requester, so these are the requester's own
# /proc files, which a process that changed identity cannot open: skipped
reset_main "include /proc/self/mem"
refused include-proc-self-mem "access denied by acl file: no rule allows"
reset_main "include /proc/self/environ"
refused include-proc-self-environ "access denied by acl file: no rule allows"
reset_main "include /dev/tty"
refused include-dev-tty "include \`/dev/tty': No such device or address"
reset_main "include $(head -c 5000 /dev/zero | tr '\0' a)"
refused include-5000-byte-path "File name too long"

log "bridge names with every odd byte"
# every byte but NUL and newline after "br", in the ACL; then asked for
# ("br0" is the one real bridge: left out)
reset_main
for ((b = 1; b < 256; b++)); do
	[ "$b" -eq 10 ] && continue
	printf 'allow br%b\n' "\\x$(printf %02x "$b")"
done >>"$MAIN"
bad_valid=0 bad_invalid=0 bad_lines=0 n_valid=0 n_invalid=0
before=$(log_lines)
for ((b = 1; b < 256; b++)); do
	[ "$b" -eq 48 ] && continue
	printf -v name 'br%b' "\\x$(printf %02x "$b")"
	ask "odd-$b" "$name"
	if [ "$(printf '%s\n' "$ERR" | wc -l)" -ne 1 ] || LC_ALL=C grep -aq '[^[:print:]]' <<<"$ERR"; then
		bad_lines=$((bad_lines + 1))
		log "byte $b: not one printable line: $(printf '%q' "$ERR")"
	fi
	# the kernel's rule: no '/', ':', whitespace (with 0xa0)
	case $b in
	9 | 10 | 11 | 12 | 13 | 32 | 47 | 58 | 160)
		n_invalid=$((n_invalid + 1))
		if [ "$RC" -ne 1 ] || ! LC_ALL=C grep -aq "invalid bridge name" <<<"$ERR"; then
			bad_invalid=$((bad_invalid + 1))
			log "byte $b: rc=$RC $ERR"
		fi
		;;
	*)
		# allowed by the ACL, so it gets as far as looking the bridge up
		n_valid=$((n_valid + 1))
		if [ "$RC" -ne 1 ] || [[ $ERR != *"failed to get mtu of bridge"*"No such device"* ]]; then
			bad_valid=$((bad_valid + 1))
			log "byte $b: rc=$RC $ERR"
		fi
		;;
	esac
done
check_eq "odd bytes: $n_invalid invalid names refused as invalid" 0 "$bad_invalid"
check_eq "odd bytes: $n_valid valid names matched by their ACL rule (then no such device)" 0 "$bad_valid"
check_eq "odd bytes: every answer is one printable line" 0 "$bad_lines"
# invalid names may be refused by the helper itself, without asking
wait_for 30 log_at_least $((before + n_valid)) || true
check "odd bytes: one broker log line per valid name asked for ($n_valid)" \
	test "$(log_lines)" -ge $((before + n_valid)) -a "$(log_lines)" -le $((before + n_valid + n_invalid))

# real bridges with odd names: granted, and logged as one clean line
# ('%' cannot be in a name: the kernel takes it for a template)
ODD=($'br\x7f' $'br\xff' 'br"q' "br\\" $'br\x1b[1m' $'br\x01\x80')
for br in "${ODD[@]}"; do
	ip link add name "$br" type bridge
	ip link set "$br" up
	printf 'allow %s\n' "$br" >>"$MAIN"
done
i=0
for br in "${ODD[@]}"; do
	i=$((i + 1))
	granted "odd-bridge-$i" "$br"
done
check_eq "broker log: printable ASCII only" 0 "$(LC_ALL=C grep -c '[^[:print:]]' "$LOGF" || true)"

log "a worker stuck reading the ACL ends at its deadline"
# The worker has become the requester, so the listener (no CAP_KILL) could
# not kill it; what bounds it is its own alarm, deadline + 2 s.  strace
# holds the worker at its open() of the ACL (-P: that path only) for 6 s,
# past the alarm (deadline 1 s: at 3 s): the worker must end by SIGALRM,
# the listener must say so, the caller must get a clean failure, and no
# tap is left.
command -v strace >/dev/null || {
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends strace >/dev/null
}
reset_main "allow br0"
SLOW_SOCK=$T/slow.sock
put_file "$T/slow.conf" root:root 0644 <<<$'deadline 1\nreap-orphans no'
# (LeakSanitizer cannot run in a traced process: off for this broker only,
# when sanitize.sh runs this suite)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -qq -o /dev/null -P "$MAIN" -e trace=openat -e inject=openat:delay_enter=6s \
	"$BUILD/ontap-broker" --config "$T/slow.conf" --socket "$SLOW_SOCK" --acl "$MAIN" 2>>"$LOGF" &
STRACE_PID=$!
ONTAP_PIDS+=("$STRACE_PID")
wait_for 100 test -S "$SLOW_SOCK" || true
SLOW_ERR=$T/slow.err
run_as "$ALICE" init env ONTAP_SOCKET="$SLOW_SOCK" "$QC" --libvirt "$HELPER" br0 \
	>/dev/null 2>"$SLOW_ERR" </dev/null &
ASK_PID=$!
ONTAP_PIDS+=("$ASK_PID")
children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; }
SLOW_BROKER=$(children "$STRACE_PID" | head -n 1)
# the listener's child that runs as alice (the other is the maker, root's)
slow_worker() {
	WORKER=$(ps -o pid= -o uid= --ppid "$SLOW_BROKER" 2>/dev/null |
		awk -v u="$(id -u "$ALICE")" '$2 == u { print $1; exit }')
	[ -n "$WORKER" ]
}
WORKER=''
if [ -n "$SLOW_BROKER" ] && wait_for 30 slow_worker; then
	rc=0
	wait_for 150 proc_gone "$ASK_PID" || rc=$?
	check_eq "stuck worker: the caller is answered once the worker ends" 0 "$rc"
	check "stuck worker: the listener ends it at its deadline and records why" \
		grep -q "verdict=refuse uid=$(id -u "$ALICE") .*reason=\"no answer within 1 s (the worker was ended)\"" "$LOGF"
	# (strace, which holds the worker in its injected delay, lets it go within 6 s)
	check "stuck worker: gone" wait_for 90 proc_gone "$WORKER"
	check "stuck worker: the caller is told the broker gave no tap" \
		grep -q "ontap-helper: " "$SLOW_ERR"
	check_eq "stuck worker: no tap left" "" "$(ip -o link show type tun)"
else
	fail "a worker stuck reading the ACL: none caught under strace"
fi
stop_pid "$ASK_PID"
[ -z "$SLOW_BROKER" ] || stop_pid "$SLOW_BROKER"
stop_pid "$STRACE_PID"
forget_pid "$ASK_PID"
forget_pid "$STRACE_PID"

log "the broker after all that"
reset_main "allow br0"
granted good-acl-again
check "broker still running" broker_alive
check "no tap left" wait_for 30 taps_are "$BASE_TAPS"
check "broker log: no ASan/UBSan report" \
	bash -c "! grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$LOGF'"
finish

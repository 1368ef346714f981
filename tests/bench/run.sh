#!/bin/bash
# The benchmark: ontap-helper + ontap-broker against the real
# qemu-bridge-helper, both called exactly as qemu calls a helper, by an
# unprivileged user, interleaved in one run (tests/bench/bench.c).
#
#   usage: bash tests/bench/run.sh [-n N] [-c C,C..] [-s L,L..] [-m M] [-p PHASES]
#                                  [--quiet-load X] [--max-wait S] [--results]
#                                  [--build DIR] [--perf FILE]           (as root)
#     -n N           calls per helper, sequential and per concurrency (500)
#     -c C,C..       concurrencies (16,64)
#     -s L,L..       taps already on the bridge for the scaling phase (1,100,1000;
#                    at most 1000: a bridge takes 1023 ports)
#     -m M           calls per helper at each scaling level (100)
#     -p PHASES      which phases, of seq,conc,scale (all)
#     --quiet-load X wait (bounded by --max-wait, default 1800 s) until the
#                    1-minute load average is below X before starting
#     --results      also write the table to tests/bench/RESULTS
#     --build DIR    build directory (/tmp/ontap-bench-build), Release
#     --perf FILE    also sample every CPU (perf record -a -g) while the bench
#                    runs, into FILE, to see where each process's time goes
#     --strace FILE  also count the broker's system calls and their wall
#                    time, every process of it (strace -c -f -w), into FILE
#                    (with -p seq or -p conc -c C: one kind of load); it slows
#                    the broker down: for where the time goes, not figures
#
# Installs its Debian packages if missing, builds, then in private mount and
# network namespaces: a user (and 64 more for the memory figures), bridge br0
# 198.18.0.1/24, /etc/qemu/bridge.conf on an overlay of /etc, a setuid-root
# copy of the reference bind-mounted over it (the real file is never changed),
# the broker, and the bench as the user; then the broker's memory with 1, 8
# and 64 identities' workers idle.  Everything is undone at exit, every
# process stopped by its pid.
#
# The broker runs with its DEFAULT limits (ontap.conf(5)): the bench raises
# no bound.  Its ontap.conf says one thing, where the quota lock lives (a
# path, not a limit): in our temp dir, so that no other broker on the machine
# shares it.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$SRC/tests/lib.sh"

REF=/usr/lib/qemu/qemu-bridge-helper
ARGS=("$@")
BENCH_OPTS=()
QUIET_LOAD="" MAX_WAIT=1800 RESULTS=0 PERF="" STRACE=""
NIDS=64   # identities for the memory figures
BUILD=${ONTAP_BENCH_BUILD:-/tmp/ontap-bench-build}
while [ $# -gt 0 ]; do
	case $1 in
	-n | -c | -s | -m | -p) [ $# -ge 2 ] || die "$1 needs a value"; BENCH_OPTS+=("$1" "$2"); shift 2 ;;
	--quiet-load) QUIET_LOAD=${2:?}; shift 2 ;;
	--max-wait) MAX_WAIT=${2:?}; shift 2 ;;
	--results) RESULTS=1; shift ;;
	--build) BUILD=${2:?}; shift 2 ;;
	--perf) PERF=$(realpath -m "${2:?}"); shift 2 ;;
	--strace) STRACE=$(realpath -m "${2:?}"); shift 2 ;;
	*) die "unknown option $1 (see the comment at the top of $0)" ;;
	esac
done
require_root

load1() { cut -d' ' -f1 /proc/loadavg; }

if [ -z "${ONTAP_TEST_NS:-}" ]; then
	pkgs=(build-essential cmake pkg-config libmnl-dev libcap-ng-dev check musl-tools
	      iproute2 util-linux passwd procps coreutils qemu-system-common)
	missing=()
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if ((${#missing[@]})); then
		log "installing: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
	[ -x "$REF" ] || die "missing the reference helper $REF"
	log "building in $BUILD (Release)"
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" -j2 --target ontap-broker ontap-helper ontap-bench qemu-call >/dev/null
	# The exec floor: a static program that does nothing (no dynamic loader,
	# as the static helper), with musl like the helper when musl-tools is there.
	printf 'int main(void) { return 0; }\n' >"$BUILD/trivial.c"
	if command -v musl-gcc >/dev/null; then
		musl-gcc -static -O2 -o "$BUILD/trivial" "$BUILD/trivial.c"
		echo "static musl" >"$BUILD/trivial.libc"
	else
		gcc -static -O2 -o "$BUILD/trivial" "$BUILD/trivial.c"
		echo "static glibc" >"$BUILD/trivial.libc"
	fi
	if [ -n "$QUIET_LOAD" ]; then
		# bounded: at most MAX_WAIT seconds in 30 s steps, then run anyway and say so
		for ((w = 0; w < MAX_WAIT; w += 30)); do
			awk -v l="$(load1)" -v q="$QUIET_LOAD" 'BEGIN { exit !(l < q) }' && break
			log "load $(load1) >= $QUIET_LOAD, waiting (${w}/${MAX_WAIT} s)"
			sleep 30
		done
	fi
	ONTAP_BENCH_BUILD=$BUILD
	export ONTAP_BENCH_BUILD
fi
enter_test_ns "${ARGS[@]}"
init_test_env

for f in ontap-broker ontap-helper tests/ontap-bench tests/qemu-call trivial; do
	[ -x "$BUILD/$f" ] || die "not built: $BUILD/$f"
done
BIN=$T/bin
mkdir -m 0755 "$BIN"
cp "$BUILD/ontap-helper" "$BUILD/tests/ontap-bench" "$BUILD/tests/qemu-call" "$BUILD/trivial" "$BIN/"

# Users first, so they land in the real /etc and the exit trap removes them.
U=${ONTAP_TAG}b
add_user "$U"
for ((i = 1; i <= NIDS; i++)); do
	add_user "${ONTAP_TAG}m$i"
done

# IPv6 off in this netns: with 1,000 taps up, every new tap's solicitations
# would be flooded into every other tap's queue (kernel work and memory that
# is nobody's helper); the same for every helper measured.
if [ -d /proc/sys/net/ipv6 ]; then
	sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
fi
make_bridge br0 1500 198.18.0.1/24

mkdir -m 0755 "$T/etc-upper" "$T/etc-work"
mount -t overlay ontap-etc -o "lowerdir=/etc,upperdir=$T/etc-upper,workdir=$T/etc-work" /etc
ONTAP_MOUNTS+=(/etc)
for d in /etc/qemu /etc/ontap; do
	[ -d "$d" ] || mkdir -m 0755 "$d"
done
put_file /etc/qemu/bridge.conf root:root 0644 <<<"allow br0"
# both read /etc/qemu/bridge.conf; the broker's limits are its defaults
put_file /etc/ontap/ontap.conf root:root 0644 <<<"lock-file $T/quota.lock"
LIMITS="the defaults (max-requests 64, max-requests-per-user 8, max-taps 128, deadline 10)"

# The reference, setuid root in this mount namespace only (see differential.sh).
setuid_reference "$REF"
# it opens /dev/net/tun as the user with CAP_NET_ADMIN only
tun_node_0666

SOCK=$T/broker.sock
start_broker "$BUILD" "$SOCK" /etc/qemu/bridge.conf "$T/broker.log"
# for --perf and --strace: which processes are this broker's
log "broker: listener pid $BROKER_PID, maker pid $(ps -o pid= --ppid "$BROKER_PID" | tr -d ' ' | paste -sd' ')"

# The bench as the user.  The ambient CAP_NET_ADMIN is for the floor (kernel
# work in-process) and the taps that sit on the bridge; bench.c clears the
# ambient set before every exec, so no helper ever runs with it.
ulimit -n "$(ulimit -Hn)"
OUT=$T/table
LA0=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -n "$PERF" ]; then
	command -v perf >/dev/null || die "--perf needs perf (Debian: linux-perf)"
	perf record -q -a -g -F 2999 -e cpu-clock -o "$PERF" 2>"$T/perf.err" &
	PERF_PID=$!
	ONTAP_PIDS+=("$PERF_PID")
fi
if [ -n "$STRACE" ]; then
	command -v strace >/dev/null || die "--strace needs strace"
	# -p each process there is (the listener and the maker); -f, each worker to come
	mapfile -t tree < <(process_tree "$BROKER_PID")
	strace -c -f -w -o "$STRACE" "${tree[@]/#/-p}" 2>"$T/strace.err" &
	STRACE_PID=$!
	ONTAP_PIDS+=("$STRACE_PID")
	wait_for 50 grep -q attached "$T/strace.err" || die "strace did not attach: $(cat "$T/strace.err")"
fi
set +e
timeout -k 5 3600 setpriv --reuid "$U" --regid "$(id -gn "$U")" --init-groups \
	--inh-caps +net_admin --ambient-caps +net_admin -- \
	env ONTAP_SOCKET="$SOCK" "$BIN/ontap-bench" -k "$BROKER_PID" -x "$BIN/trivial" "${BENCH_OPTS[@]}" \
	"ontap=$BIN/ontap-helper" "qemu-bridge-helper=$REF" >"$OUT" 2>"$T/bench.err"
rc=$?
set -e
if [ -n "$PERF" ]; then
	kill -INT "$PERF_PID"
	wait "$PERF_PID" || true
	log "perf samples in $PERF (perf report -i $PERF --sort comm,dso,sym)"
fi
log "broker processes after the bench (pid uid): $(ps -o pid=,uid= --ppid "$BROKER_PID" | paste -sd',')"
if [ -n "$STRACE" ]; then
	kill -INT "$STRACE_PID"
	wait "$STRACE_PID" || true
	log "the broker's system calls in $STRACE"
fi
LA1=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$rc" -ne 0 ] || grep -qv '^ontap-bench: ' "$T/bench.err"; then
	log "ontap-bench exit $rc; what the helpers said on stderr, counted:"
	sort "$T/bench.err" | uniq -c | sort -rn | head -20 >&2
fi
[ "$rc" -eq 0 ] || die "ontap-bench failed"

# ---- the broker's memory with 1, 8 and NIDS identities --------------------
# Each identity's worker stays, idle, for 30 s after its request: every
# figure is taken well inside that.  A reload (SIGHUP) first ends the bench
# user's idle workers (workers hold the configuration they were forked with).

# mem_line LABEL: PSS and RSS (/proc/PID/smaps_rollup) of the listener, the
# maker (the child with uid 0) and the workers (the requesters' uids), summed
mem_line() {
	local pid uid pss rss nw=0 lp=0 mp=0 wp=0 tr=0
	for pid in $(process_tree "$BROKER_PID"); do
		read -r pss rss < <(awk '/^Pss:/ { p = $2 } /^Rss:/ { r = $2 } END { print p + 0, r + 0 }' \
			"/proc/$pid/smaps_rollup" 2>/dev/null) || continue
		uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
		if [ "$pid" = "$BROKER_PID" ]; then
			lp=$pss
		elif [ "$uid" = 0 ]; then
			mp=$((mp + pss))
		else
			wp=$((wp + pss))
			nw=$((nw + 1))
		fi
		tr=$((tr + rss))
	done
	printf '  %-22s %7d %9d %8d %9d %10s %9d\n' "$1" "$nw" $((lp + mp + wp)) "$lp" "$mp" \
		"$( ((nw)) && echo $((wp / nw)) || echo -)" "$tr"
}
only_maker() { [ "$(process_tree "$BROKER_PID" | wc -l)" -eq 2 ]; }
# one request of user $1, the way qemu makes it; the tap is closed as it
# exits.  A refusal is counted and reported with the figures, not fatal: the
# worker still exists, and the figures say how many were refused, and why.
MEM_FAILED=0
call_as() {
	as_user_cmd "$1" init env ONTAP_SOCKET="$SOCK" "$BIN/qemu-call" "$BIN/ontap-helper" br0
	"${ONTAP_CMD[@]}" >/dev/null 2>>"$T/mem.err" || MEM_FAILED=$((MEM_FAILED + 1))
}
kill -HUP "$BROKER_PID"
wait_for 100 only_maker || log "the bench user's workers did not end on SIGHUP within 10 s"
{
	echo
	echo "broker memory, KiB: listener + maker + idle workers, each identity one request then idle"
	printf '  %-22s %7s %9s %8s %9s %10s %9s\n' "identities" "workers" "PSS total" "listener" \
		"maker" "PSS/worker" "RSS sum"
	mem_line "none (after a reload)"
	done_ids=0
	for n in 1 8 "$NIDS"; do
		for ((i = done_ids + 1; i <= n; i++)); do
			call_as "${ONTAP_TAG}m$i"
		done
		done_ids=$n
		sleep 0.2   # the last worker back to idle
		mem_line "$n"
	done
	echo "  (PSS shares each page among the processes mapping it; the RSS sum counts shared pages once per process)"
	if ((MEM_FAILED)); then
		echo "  $MEM_FAILED of these $NIDS requests failed; what the helper said, counted:"
		grep '^ontap-helper: ' "$T/mem.err" | sort | uniq -c | sort -rn | head -5 | sed 's/^/  /'
	fi
} >"$T/mem"

{
	echo "ontap benchmark, $(date -u +%Y-%m-%dT%H:%MZ), ontap $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$SRC" diff --quiet HEAD -- broker helper 2>/dev/null || echo '+changes')"
	echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cpus," \
		"$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
		"Linux $(uname -r), $(lscpu | sed -n 's/^Hypervisor vendor: *//p' | sed 's/.\+/& guest/')"
	echo "reference: $REF from qemu-system-common $(dpkg-query -W -f='${Version}' qemu-system-common)"
	echo "exec floor: a static program that returns 0 ($(cat "$BUILD/trivial.libc"))"
	echo "broker limits: $LIMITS; IPv6 off in the bench netns"
	echo "load average (1, 5, 15 min): $LA0 before, $LA1 after (its own load included)"
	echo "command: bash tests/bench/run.sh ${ARGS[*]}"
	echo
	cat "$OUT"
	cat "$T/mem"
} >"$T/results"
cat "$T/results"
if [ "$RESULTS" = 1 ]; then
	cp "$T/results" "$HERE/RESULTS"
	log "written to $HERE/RESULTS"
fi

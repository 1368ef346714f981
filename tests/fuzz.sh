#!/bin/bash
# Builds the libFuzzer targets in tests/fuzz/ straight from the sources with
# clang (-fsanitize=fuzzer,address,undefined) and runs each one, one at a
# time, on one core.
#   fuzz.sh [--short | --long [RUNS] | --time SECONDS] [--target NAME] OUTDIR
#     --short          each target for 15 s (ctest, CI: nine targets in 2.5 min); the default
#     --time SECONDS   each target for SECONDS
#     --long [RUNS]    each target for RUNS executions (default 10000000),
#                      the new corpus minimised into OUTDIR/NAME.merged
#     --target NAME    only this one (proto, wire, acl, args, conf, census, escape,
#                      usernet, ledger)
# Each target prints its executions and crashes; a crash, timeout or leak
# leaves its input in OUTDIR (re-run it with OUTDIR/fuzz_NAME FILE).  Needs
# clang and libFuzzer (Debian 12: clang-14 libclang-rt-14-dev), installed
# here when missing and run as root.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

MODE=time SECS=15 RUNS=10000000 ONLY=
while [ $# -gt 1 ]; do
	case $1 in
	--short) MODE=time SECS=15; shift ;;
	--time) MODE=time SECS=$2; shift 2 ;;
	--long)
		MODE=runs
		shift
		if [[ $1 =~ ^[0-9]+$ ]] && [ $# -gt 1 ]; then RUNS=$1; shift; fi
		;;
	--target) ONLY=$2; shift 2 ;;
	*) die "unknown option: $1" ;;
	esac
done
[ $# -eq 1 ] || die "usage: $0 [--short | --long [RUNS] | --time SECONDS] [--target NAME] OUTDIR"
[[ $SECS =~ ^[0-9]+$ ]] || die "--time: not a number: $SECS"
OUT=$1
mkdir -p "$OUT"
OUT=$(realpath -e "$OUT")
FZ=$HERE/fuzz

# ---- toolchain ----------------------------------------------------------------
find_cc() {
	local c
	for c in clang-14 clang; do
		if command -v "$c" >/dev/null &&
			printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
			"$c" -x c -fsanitize=fuzzer,address,undefined -o "$OUT/.probe" - 2>/dev/null; then
			CC=$c
			return 0
		fi
	done
	return 1
}
if ! find_cc; then
	[ "$(id -u)" -eq 0 ] || die "no clang with libFuzzer; install clang-14 libclang-rt-14-dev (as root)"
	echo "# installing clang-14 libclang-rt-14-dev"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev >/dev/null
	find_cc || die "clang-14 cannot build a libFuzzer target even after installing it"
fi
rm -f "$OUT/.probe"

# Sources per target: the fuzzer, then the project's files it links.
declare -A SRCS=(
	[proto]="broker/shared/proto.c broker/shared/ifname.c broker/shared/escape.c"
	[wire]="broker/shared/proto.c broker/shared/wire.c"
	[acl]="broker/acl.c broker/shared/escape.c"
	[escape]="broker/shared/escape.c"
	[args]="helper/args.c"
	[conf]="broker/conf.c"
	[census]="broker/census.c broker/rtnl.c"
)
# census.c's netlink half (never called here) needs libmnl to link
declare -A LIBS=([census]="-lmnl")
# Inputs: a REQUEST is at most 32 bytes and a REFUSE 1042; ACL inputs need
# room for several files; argv stays short.
declare -A MAXLEN=([proto]=1100 [wire]=2048 [acl]=8192 [args]=512 [conf]=4096 [census]=600 [escape]=512)
TARGETS=(proto wire acl args conf census escape)
# lxc-usernet, read by the broker for lxc-usernet veth requests
SRCS[usernet]="broker/usernet.c"
MAXLEN[usernet]=4096
TARGETS+=(usernet)
# link notifications, read by the listener-mode maker's ledger
SRCS[ledger]="broker/ledger.c broker/census.c broker/rtnl.c broker/log.c"
LIBS[ledger]="-lmnl"
MAXLEN[ledger]=4096
TARGETS+=(ledger)
if [ -n "$ONLY" ]; then
	[ -n "${SRCS[$ONLY]:-}" ] || die "unknown target: $ONLY (${TARGETS[*]})"
	TARGETS=("$ONLY")
fi

# shellcheck disable=SC2054 # the commas are clang's, inside one option
CFLAGS=(-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-fno-omit-frame-pointer -Wall -Wextra -D_GNU_SOURCE -DONTAP_VERSION='"fuzz"'
	-DONTAP_SOCKET_PATH='"/run/ontap/broker.sock"' -DONTAP_ACL_PATH='"/etc/qemu/bridge.conf"'
	-DONTAP_CONF_PATH='"/etc/ontap/ontap.conf"' -DONTAP_LOCK_PATH='"/run/ontap/quota.lock"'
	-I"$TOP/broker" -I"$TOP/broker/shared" -I"$TOP/helper")

build() {
	local t=$1 srcs=() s libs
	for s in ${SRCS[$t]}; do srcs+=("$TOP/$s"); done
	read -ra libs <<<"${LIBS[$t]:-}"
	"$CC" "${CFLAGS[@]}" -o "$OUT/fuzz_$t" "$FZ/fuzz_$t.c" "${srcs[@]}" "${libs[@]}" \
		2>"$OUT/build_$t.log"
}

# The symbolizer turns a crash's addresses into file:line, where installed.
for s in llvm-symbolizer-14 llvm-symbolizer; do
	if command -v "$s" >/dev/null; then
		export ASAN_SYMBOLIZER_PATH
		ASAN_SYMBOLIZER_PATH=$(command -v "$s")
		break
	fi
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run() {
	local t=$1
	local work=$OUT/corpus_$t logf=$OUT/fuzz_$t.log args rc=0 execs secs crashes
	rm -rf "$work"
	mkdir -p "$work"
	# one process, one job: libFuzzer's default; -jobs/-workers would fork
	args=(-timeout=5 -rss_limit_mb=2048 -max_len="${MAXLEN[$t]}" -print_final_stats=1
		-artifact_prefix="$OUT/$t-" -dict="$FZ/$t.dict")
	if [ "$MODE" = runs ]; then
		# -runs ends it; the time limit is only a backstop
		args+=(-runs="$RUNS" -max_total_time=7200)
	else
		args+=(-max_total_time="$SECS")
	fi
	# the first corpus directory receives new inputs; the seeds stay untouched
	"$OUT/fuzz_$t" "${args[@]}" "$work" "$FZ/corpus/$t" >"$logf" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logf" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$logf" | tail -n 1)
	crashes=$(find "$OUT" -maxdepth 1 -name "$t-*" -type f | wc -l)
	echo "# fuzz_$t: executions=${execs:-?} seconds=${secs:-?} corpus=$(find "$work" -type f | wc -l) new_artifacts=$crashes exit=$rc"
	if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] && [ -n "$execs" ]; then
		pass "fuzz_$t: ${execs} executions, 0 crashes"
	else
		fail "fuzz_$t: exit $rc, $crashes crash/timeout/leak input(s)" \
			"$(grep -E '^(==[0-9]+== ?ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$logf" | head -n 5)" \
			"full log: $logf"
	fi
	if [ "$MODE" = runs ] && [ "$rc" -eq 0 ]; then
		rm -rf "$OUT/$t.merged"
		mkdir -p "$OUT/$t.merged"
		"$OUT/fuzz_$t" -merge=1 -max_len="${MAXLEN[$t]}" "$OUT/$t.merged" "$FZ/corpus/$t" "$work" \
			>"$OUT/merge_$t.log" 2>&1 || true
		echo "# fuzz_$t: minimised corpus: $(find "$OUT/$t.merged" -type f | wc -l) inputs in $OUT/$t.merged"
	fi
}

for t in "${TARGETS[@]}"; do
	# old crash inputs of this target would be counted as new
	find "$OUT" -maxdepth 1 -name "$t-*" -type f -delete
	if build "$t"; then
		pass "fuzz_$t: builds with $CC -fsanitize=fuzzer,address,undefined"
		run "$t"
	else
		fail "fuzz_$t: does not build" "$(head -n 20 "$OUT/build_$t.log")"
	fi
done
finish

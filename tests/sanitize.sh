#!/bin/bash
# The whole suite built a second time with AddressSanitizer and
# UndefinedBehaviorSanitizer, then its unit, integration, load (--short),
# hostile-ACL and veth (native, lxc) tests run against that build.  As root: those tests make
# namespaces, bridges, taps and users.
#   usage: sanitize.sh BUILD_DIR     (a build directory of its own)
#
# Every process writes its sanitizer reports to a directory of its own
# (log_path), because the broker's workers are not processes any test
# watches the stderr of, and the workers (once they become the requester)
# and the helper run as test users: the directory is world-writable and
# sticky so they can.
# Any report fails the run, even if the test that caused it passed.
#
# Built with clang: gcc 12's UBSan ignores log_path and prints to stderr,
# where a worker's report would land in a log the test deletes; clang's
# runtime honours it.  (clang is what fuzz.sh needs anyway.)  As a second
# net, every test's own output is searched for sanitizer reports too.
#
# LeakSanitizer is on.  It runs when a process exits through exit(): the
# broker itself (root, fewer capabilities, still dumpable, so its tracer
# thread may attach), the helper and the test tools (ordinary users, never
# setuid).  The workers, which change identity, leave with _exit(), so
# LeakSanitizer never runs in them: no false reports from a process that
# cannot be traced after a setuid().
# It does not work under ptrace: do not run this under strace or gdb.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
require_root
mkdir -p "$1"
OUT=$(realpath -e "$1")
[ "$OUT" != "$TOP" ] || die "BUILD_DIR must not be the source directory"

CC=
for c in clang-14 clang; do
	if command -v "$c" >/dev/null; then CC=$c; break; fi
done
if [ -z "$CC" ]; then
	echo "# installing clang-14 libclang-rt-14-dev"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev >/dev/null
	CC=clang-14
fi
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
log "configuring $OUT with $CC $SAN"
# (the sanitizer runtimes do not link statically: the helper is dynamic here)
cmake -S "$TOP" -B "$OUT" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONTAP_STATIC_HELPER=OFF -DCMAKE_C_COMPILER="$CC" \
	-DCMAKE_C_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="$SAN" >"$OUT.configure.log" 2>&1 ||
	{ cat "$OUT.configure.log" >&2; die "cmake configure failed"; }
if cmake --build "$OUT" -j"$(nproc)" >"$OUT.build.log" 2>&1; then
	pass "builds with $SAN"
else
	tail -n 30 "$OUT.build.log" >&2
	fail "builds with $SAN" "see $OUT.build.log"
	finish
fi
check "the broker is instrumented" bash -c "nm '$OUT/ontap-broker' | grep -q ' [TU] __asan_init\$'"

REPORTS=$(mktemp -d /tmp/ontap-sanitize.XXXXXX)
chmod 1777 "$REPORTS"
trap 'rm -rf "$REPORTS"' EXIT
export ASAN_OPTIONS="log_path=$REPORTS/asan:detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1"
export UBSAN_OPTIONS="log_path=$REPORTS/ubsan:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="log_path=$REPORTS/lsan"
# ASan's quarantine holds freed memory and its shadow grows: RSS says nothing
# about leaks here (LeakSanitizer does); load.sh's RSS bound is widened
export ONTAP_RSS_SLACK_KB=65536

TESTS=$(ctest --test-dir "$OUT" -N -R '^(unit_.*|integration|load|hostile_acl|veth_native|veth_lxc)$' |
	sed -n 's/^ *Test *#[0-9]*: //p')
[ -n "$TESTS" ] || die "no tests found in $OUT"
for t in $TESTS; do
	if ctest --test-dir "$OUT" --output-on-failure -R "^$t\$" >"$OUT.$t.log" 2>&1; then
		pass "$t, built with ASan and UBSan"
	else
		fail "$t, built with ASan and UBSan" "$(tail -n 40 "$OUT.$t.log")"
	fi
	if grep -aEq 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' "$OUT.$t.log"; then
		fail "$t: no sanitizer report in its output" \
			"$(grep -aE -A8 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$OUT.$t.log" | head -n 20)"
	fi
done

mapfile -t reports < <(find "$REPORTS" -type f | sort)
if [ "${#reports[@]}" -eq 0 ]; then
	pass "no sanitizer report from any process"
else
	fail "no sanitizer report from any process" "$(for f in "${reports[@]}"; do
		echo "== $f"
		grep -E 'ERROR|SUMMARY|runtime error|#[0-9] ' "$f" | head -n 20
	done)"
	rm -rf "$OUT.reports"
	mkdir -p "$OUT.reports"
	cp "${reports[@]}" "$OUT.reports/"
	log "reports kept in $OUT.reports"
fi
finish

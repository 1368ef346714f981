# shellcheck shell=bash
# Shared by the root-level integration tests.  Source it, then:
#   require_root; enter_test_ns "$@"; init_test_env
# Everything a test makes (namespaces, bridges, users, groups, files,
# processes, mounts) is made here and undone by the EXIT trap;
# ONTAP_TEST_KEEP=1 keeps the temp dir (logs, ACL files) for a post-mortem.

ONTAP_PASS=0
ONTAP_FAIL=0
ONTAP_PIDS=()     # processes we started, stopped by pid at exit
ONTAP_USERS=()
ONTAP_GROUPS=()
ONTAP_MOUNTS=()   # unmounted in reverse order, before users are deleted
ONTAP_CLEANUPS=() # extra commands (eval'd) run first at exit
T=""              # this run's temp dir (0755)
# shellcheck disable=SC2034 # used by the scripts that source this
ONTAP_TAG="ontapt$$"

log() { printf '%s\n' "$*" | sed 's/^/# /'; }
die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

require_root() {
	[ "$(id -u)" -eq 0 ] ||
		die "must run as root: it makes network namespaces, bridges, taps and users (try: sudo bash $0 ...)"
	local c
	for c in unshare setpriv ip useradd groupadd userdel groupdel mount; do
		command -v "$c" >/dev/null || die "missing command: $c"
	done
}

# Re-runs the calling script in new mount and network namespaces, unless
# already there.  sysfs is remounted so /sys/class/net shows our netns only.
enter_test_ns() {
	if [ -z "${ONTAP_TEST_NS:-}" ]; then
		ONTAP_TEST_NS=1 exec unshare --mount --net --propagation private -- bash "$0" "$@"
	fi
	[ "$(readlink /proc/self/ns/net)" != "$(readlink "/proc/$PPID/ns/net")" ] ||
		die "refusing to run in the caller's network namespace"
	mount --make-rprivate /
	mount -t sysfs ontap-sysfs /sys
	ip link set lo up
	cd /
}

init_test_env() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM HUP
	trap 'exit 141' PIPE
	T=$(mktemp -d /tmp/ontap-test.XXXXXX)
	chmod 0755 "$T"
}

cleanup() {
	local rc=$? i
	set +e
	for ((i = ${#ONTAP_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${ONTAP_CLEANUPS[i]}"
	done
	for ((i = ${#ONTAP_PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${ONTAP_PIDS[i]}"
	done
	for ((i = ${#ONTAP_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${ONTAP_MOUNTS[i]}" || umount -l "${ONTAP_MOUNTS[i]}"
	done
	for i in "${ONTAP_USERS[@]}"; do
		# a process of the user may still be exiting; the last try says why
		wait_for 30 userdel "$i" 2>/dev/null || userdel "$i"
		getent group "$i" >/dev/null && groupdel "$i"
	done
	for i in "${ONTAP_GROUPS[@]}"; do
		groupdel "$i"
	done
	if [ -n "$T" ] && [ -n "${ONTAP_TEST_KEEP:-}" ]; then
		echo "# kept $T (ONTAP_TEST_KEEP)"
	elif [ -n "$T" ]; then
		rm -rf "$T"
	fi
	exit "$rc"
}

# ---- checks -------------------------------------------------------------

pass() { ONTAP_PASS=$((ONTAP_PASS + 1)); printf 'ok %d - %s\n' $((ONTAP_PASS + ONTAP_FAIL)) "$1"; }
fail() {
	ONTAP_FAIL=$((ONTAP_FAIL + 1))
	printf 'not ok %d - %s\n' $((ONTAP_PASS + ONTAP_FAIL)) "$1"
	shift
	[ $# -eq 0 ] || printf '#   %s\n' "$@"
}

# check DESC CMD...: passes iff CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc" "command failed: $*"; fi
}

# check_eq DESC WANT GOT
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want: $2" "got:  $3"; fi
}

# check_match DESC EXTENDED-REGEX TEXT
check_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then pass "$1"; else fail "$1" "want /$2/" "got:  $3"; fi
}

# check_has DESC FIXED-STRING TEXT
check_has() {
	if printf '%s\n' "$3" | grep -Fq -- "$2"; then pass "$1"; else fail "$1" "want to contain: $2" "got: $3"; fi
}

# Prints the totals; the exit status is non-zero on any failure or no check.
finish() {
	printf '%d passed, %d failed\n' "$ONTAP_PASS" "$ONTAP_FAIL"
	[ "$ONTAP_FAIL" -eq 0 ] && [ "$ONTAP_PASS" -gt 0 ]
}

# wait_for TENTHS CMD...: retries CMD every 0.1 s, at most TENTHS times and
# never past TENTHS/10+2 seconds of wall time; 0 as soon as CMD succeeds.
wait_for() {
	local tries=$1 i deadline
	shift
	deadline=$((SECONDS + tries / 10 + 2))
	for ((i = 0; i < tries && SECONDS <= deadline; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# ---- binaries and the reference ----------------------------------------

# stage_binaries BUILD [EXTRA...]: checks that ontap-broker, ontap-helper,
# tests/qemu-call and EXTRA are built, and copies the helper, qemu-call and
# EXTRA into $T/bin (0755), so that test users can run them wherever BUILD
# is.  Sets BIN, HELPER and QC.
stage_binaries() {
	local build=$1 f
	shift
	for f in ontap-broker ontap-helper tests/qemu-call "$@"; do
		[ -x "$build/$f" ] || die "not built: $build/$f"
	done
	BIN=$T/bin
	mkdir -m 0755 "$BIN"
	for f in ontap-helper tests/qemu-call "$@"; do
		cp "$build/$f" "$BIN/"
	done
	# shellcheck disable=SC2034 # used by the scripts that source this
	HELPER=$BIN/ontap-helper
	# shellcheck disable=SC2034
	QC=$BIN/qemu-call
}

# setuid_reference REF: the reference helper setuid root, in this mount
# namespace only: a setuid copy bind-mounted over it; where $T is nosuid,
# chmod u+s on the real one, its exact mode put back at exit.
setuid_reference() {
	local ref=$1
	if findmnt -n -o OPTIONS --target "$T" | tr ',' '\n' | grep -qx nosuid; then
		ONTAP_CLEANUPS+=("chmod $(stat -c %a "$ref") $ref")
		chmod u+s "$ref"
		log "setuid bit set on $ref for this run; restored at exit"
	else
		mkdir -m 0755 "$T/ref"
		install -o root -g root -m 4755 "$ref" "$T/ref/qemu-bridge-helper"
		mount --bind "$T/ref/qemu-bridge-helper" "$ref"
		ONTAP_MOUNTS+=("$ref")
	fi
}

# tun_node_0666: /dev/net/tun as Debian ships it (0666), for programs that
# open it without CAP_DAC_OVERRIDE (the reference as the user, a non-root
# broker); where this host's is stricter, a node of our own is bind-mounted
# over it in this mount namespace only.
tun_node_0666() {
	[ "$(stat -c %a /dev/net/tun)" != 666 ] || return 0
	mknod -m 0666 "$T/tun" c "$(stat -c '%t' /dev/net/tun | sed 's/^/0x/')" \
		"$(stat -c '%T' /dev/net/tun | sed 's/^/0x/')"
	mount --bind "$T/tun" /dev/net/tun
	ONTAP_MOUNTS+=(/dev/net/tun)
}

# ---- processes ----------------------------------------------------------

proc_gone() {
	local st
	[ -r "/proc/$1/stat" ] || return 0
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	[ "${st%% *}" = Z ]
}

# stop_pid PID: TERM, up to 5 s, then KILL; reaps it if it is our child.
stop_pid() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	wait_for 50 proc_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	wait_for 50 proc_gone "$pid"
	wait "$pid" 2>/dev/null || true
}

# start_broker BUILD SOCKET ACL LOG: foreground broker in the background;
# sets BROKER_PID once the socket exists.
start_broker() {
	local build=$1 sock=$2 acl=$3 logf=$4
	"$build/ontap-broker" --socket "$sock" --acl "$acl" 2>>"$logf" &
	BROKER_PID=$!
	ONTAP_PIDS+=("$BROKER_PID")
	wait_for 100 test -S "$sock" || {
		cat "$logf" >&2
		die "ontap-broker did not create $sock within 10 s"
	}
	kill -0 "$BROKER_PID" 2>/dev/null || die "ontap-broker exited at start"
}

# ---- network (only ever inside our netns) ----------------------------------

# make_bridge NAME MTU ADDR/PREFIX
make_bridge() {
	case $3 in
	198.18.* | 198.19.*) ;;
	*) die "test addresses must be in 198.18.0.0/15: $3" ;;
	esac
	ip link add "$1" type bridge
	ip link set "$1" mtu "$2"
	ip addr add "$3" dev "$1"
	ip link set "$1" up
}

# make_nonbridge NAME: a dummy link, or a veth where dummy is not built in.
make_nonbridge() {
	ip link add "$1" type dummy 2>/dev/null ||
		ip link add "$1" type veth peer name "$1p"
	ip link set "$1" up
}

count_taps() {
	local n=0 f
	for f in /sys/class/net/*/tun_flags; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

taps_are() { [ "$(count_taps)" -eq "$1" ]; }
link_gone() { [ ! -e "/sys/class/net/$1" ]; }

# ---- users ----------------------------------------------------------------

# add_group NAME; add_user NAME [SUPPLEMENTARY,GROUPS]: made now, removed at exit.
add_group() {
	groupadd "$1"
	ONTAP_GROUPS+=("$1")
}

add_user() {
	local opt=()
	[ -z "${2:-}" ] || opt=(--groups "$2")
	useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--user-group "${opt[@]}" "$1"
	ONTAP_USERS+=("$1")
}

# run_as USER GROUPS CMD...: GROUPS is "init" (from /etc/group), "none",
# or a comma list set at run time whatever /etc/group says.  At most 60 s.
run_as() {
	as_user_cmd "$@"
	"${ONTAP_CMD[@]}"
}

# spawn_as IN OUT ERR USER GROUPS CMD...: run_as in the background with
# stdin/stdout/stderr redirected (in the child, so IN may be a FIFO);
# SPAWN_PID is the command's own pid, never a subshell's.
spawn_as() {
	local in=$1 out=$2 err=$3
	shift 3
	as_user_cmd "$@"
	"${ONTAP_CMD[@]}" <"$in" >"$out" 2>"$err" &
	SPAWN_PID=$!
	ONTAP_PIDS+=("$SPAWN_PID")
}

as_user_cmd() {
	local user=$1 groups=$2 gopt
	shift 2
	case $groups in
	init) gopt=(--init-groups) ;;
	none) gopt=(--clear-groups) ;;
	*) gopt=(--groups "$groups") ;;
	esac
	ONTAP_CMD=(timeout -k 5 60 setpriv --reuid "$user" --regid "$(id -gn "$user")"
		"${gopt[@]}" -- "$@")
}

# forget_pid PID: after stop_pid, so the exit trap never signals a reused pid
forget_pid() {
	local keep=() p
	for p in "${ONTAP_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	ONTAP_PIDS=("${keep[@]}")
}

# ---- files ----------------------------------------------------------------

# put_file PATH OWNER:GROUP MODE < CONTENT
put_file() {
	cat >"$1"
	chown "$2" "$1"
	chmod "$3" "$1"
}

# ---- clients built to trust a broker user ----------------------------------

# build_clients_trusting USER SRC: ontap-helper and ontap-tap configured with
# -DONTAP_BROKER_USER=USER, as a package for a broker run as a dedicated
# user is built (the clients trust only root and that user), copied into
# $T/bin-USER (0755, for the test users); sets TRUSTING_BIN.
build_clients_trusting() {
	local user=$1 src=$2 b=$T/build-$1
	cmake -S "$src" -B "$b" -DONTAP_BROKER_USER="$user" >"$b.log" 2>&1 &&
		cmake --build "$b" -j2 --target ontap-helper ontap-tap >>"$b.log" 2>&1 || {
		cat "$b.log" >&2
		die "cannot build the clients with ONTAP_BROKER_USER=$user"
	}
	TRUSTING_BIN=$T/bin-$user
	mkdir -m 0755 "$TRUSTING_BIN"
	cp "$b/ontap-helper" "$b/ontap-tap" "$TRUSTING_BIN/"
}

# ---- the test guest (tests/e2e/): qemu boots it, it pings a peer -----------

ONTAP_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# guest_prepare BUILD: qemu and the guest's packages (tests/e2e/deps.sh), and
# the guest in BUILD/e2e-guest (tests/e2e/build-guest.sh, cached).  Needs the
# network: call it before enter_test_ns.
guest_prepare() {
	bash "$ONTAP_LIB_DIR/e2e/deps.sh"
	bash "$ONTAP_LIB_DIR/e2e/build-guest.sh" "$1/e2e-guest"
}

# guest_stage BUILD DIR: the guest's kernel and initramfs in DIR (0755), for
# the test users
guest_stage() {
	install -d -m 0755 "$2"
	install -m 0644 "$1/e2e-guest/vmlinuz" "$1/e2e-guest/initrd.gz" "$2/"
}

# guest_accel USER PROBE-DIR GUEST-DIR: ACCEL=kvm if a guest boots under
# /dev/kvm as USER (it may be there and open and still run nothing, under
# broken nested virtualisation: only a boot proves it), else tcg; KVM_NOTE
# says why.
guest_accel() {
	local user=$1 d=$2 g=$3
	ACCEL=tcg
	KVM_NOTE="$user may not open /dev/kvm"
	run_as "$user" init sh -c 'test -r /dev/kvm && test -w /dev/kvm' 2>/dev/null || return 0
	KVM_NOTE="/dev/kvm booted no guest in 20 s"
	install -d -m 0755 -o "$user" -g "$(id -g "$user")" "$d"
	# no ontap.ip=: the guest says so and powers off at once
	run_as "$user" init timeout -k 5 20 qemu-system-x86_64 -nodefaults -machine pc -accel kvm \
		-m 256 -smp 1 -display none -no-reboot -serial "file:$d/serial.log" \
		-kernel "$g/vmlinuz" -initrd "$g/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1" >/dev/null 2>&1 || true
	if grep -aq 'ontap-guest: RESULT' "$d/serial.log" 2>/dev/null; then
		ACCEL=kvm
		KVM_NOTE="/dev/kvm works"
	fi
}

# guest_qemu_argv GUEST-DIR SERIAL CPUS KERNEL-ARGS: QEMU, a small headless
# guest (no NIC: the caller adds -netdev and -device) under $ACCEL
guest_qemu_argv() {
	QEMU=(qemu-system-x86_64 -nodefaults -machine pc -accel "$ACCEL" -m 256 -smp "$3"
		-display none -no-reboot -serial "file:$2"
		-kernel "$1/vmlinuz" -initrd "$1/initrd.gz"
		-append "console=ttyS0 quiet panic=-1 ipv6.disable=1 $4")
}

# stop_and_forget PID: stop_pid, then forget_pid (a process done with mid-suite)
stop_and_forget() {
	stop_pid "$1"
	forget_pid "$1"
}

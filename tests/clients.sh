#!/bin/bash
# The clients, ontap-helper and ontap-tap, as users run them, in a network
# and mount namespace of their own.  Three parts, each a ctest of its own:
#
#   trust   whom a client talks to (issue 12 item 5): a socket served by
#           another ordinary user (fakebroker, run as a second test user)
#           is refused before a byte is sent, and its tap never reaches the
#           caller; a root server handing over a tap on another bridge, or
#           something that is not a tap, is refused too; a version-2 client
#           against a version-1-only server (fakebroker v1, as root) says
#           the broker is too old; a version-1 client (ontap-helper) against
#           this broker is served in version 1.
#   tap     ontap-tap against the broker: descriptors, their numbers and
#           environment, multiqueue, vnet_hdr; a program that is not qemu
#           (tapframe) answers a frame from the bridge side; every refusal
#           (ACL, max-queues, quota, options, broker down, PROG missing)
#           with its message and exit status, PROG not run, no tap left.
#   qemu    real qemu as a test user through ontap-tap with 4 queues: the
#           guest sees 4 queue pairs and pings the bridge, the host's tap is
#           multi_queue with 4 queues attached while qemu runs, gone after.
#
#   usage: clients.sh BUILD_DIR [trust|tap|qemu]...   (as root; default: all)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

[ $# -ge 1 ] || die "usage: $0 BUILD_DIR [trust|tap|qemu]..."
require_root
BUILD=$(realpath -e "$1")
PARTS=("${@:2}")
[ ${#PARTS[@]} -gt 0 ] || PARTS=(trust tap qemu)
for p in "${PARTS[@]}"; do
	case $p in
	trust | tap | qemu) ;;
	*) die "unknown part \`$p' (trust, tap, qemu)" ;;
	esac
done
# the guest and qemu need the network: before the test netns is entered
case " ${PARTS[*]} " in
*" qemu "*) [ -n "${ONTAP_TEST_NS:-}" ] || guest_prepare "$BUILD" ;;
esac

enter_test_ns "$@"
init_test_env
START=$SECONDS

stage_binaries "$BUILD" ontap-tap tests/fakebroker tests/tapframe
TAPC=$BIN/ontap-tap FAKE=$BIN/fakebroker FRAME=$BIN/tapframe

# ---- users: alice and carol in NET (may use br0), bob not; mallory serves a
# socket of her own
G_NET=${ONTAP_TAG}n
ALICE=${ONTAP_TAG}alice BOB=${ONTAP_TAG}bob CAROL=${ONTAP_TAG}carol MALLORY=${ONTAP_TAG}mal
add_group "$G_NET"
add_user "$ALICE" "$G_NET"
add_user "$BOB"
add_user "$CAROL" "$G_NET"
add_user "$MALLORY"
C_UID=$(id -u "$CAROL") M_UID=$(id -u "$MALLORY")

make_bridge br0 1500 198.18.0.1/24
make_bridge br1 1500 198.18.1.1/24
# br0's own MAC, so it does not follow its ports (a tap's as it comes, zeroes
# as it goes, which flushes br0's neighbours: the frame and qemu checks read them)
ip link set br0 address 02:00:c6:12:00:01
# and a port that stays, so br0 keeps its carrier (losing it flushes the
# neighbours too) once a tap is gone
ip link add br0keep type veth peer name br0keepp
ip link set br0keepp up
ip link set br0keep master br0 up
tun_node_0666

ACL=$T/acl
mkdir -m 0755 "$ACL"
put_file "$ACL/bridge.conf" root:root 0644 <<<"include $ACL/net.conf"
put_file "$ACL/net.conf" "root:$G_NET" 0640 <<<$'allow br0\nallow br1\nallow brnone'
# markers: PROG writes one when it runs
MARKS=$T/marks
mkdir -m 1777 "$MARKS"

# ---- helpers ------------------------------------------------------------------

# broker_up NAME CONF-LINES: ontap-broker on $T/NAME.sock with that ontap.conf;
# S, L, BROKER_PID
broker_up() {
	S=$T/$1.sock L=$T/$1.log
	printf '%s\n' "$2" >"$T/$1.conf"
	"$BUILD/ontap-broker" --socket "$S" --acl "$ACL/bridge.conf" --config "$T/$1.conf" 2>>"$L" &
	BROKER_PID=$!
	ONTAP_PIDS+=("$BROKER_PID")
	wait_for 100 test -S "$S" || die "broker $1 did not listen within 10 s: $(cat "$L")"
}

# tapc LABEL USER SOCK ARGS...: ontap-tap ARGS as USER against SOCK; RC, OUT, ERR
tapc() {
	local label=$1 user=$2 sock=$3
	shift 3
	RC=0
	run_as "$user" init env ONTAP_SOCKET="$sock" "$TAPC" "$@" \
		>"$T/$label.out" 2>"$T/$label.err" </dev/null || RC=$?
	OUT=$(cat "$T/$label.out")
	ERR=$(cat "$T/$label.err")
}

# mark LABEL: a PROG that only leaves a marker
mark() { echo sh -c ": >$MARKS/$1"; }

# tap_refused LABEL STATUS MESSAGE: ontap-tap failed as it should have
tap_refused() {
	check_eq "$1: exit $2" "$2" "$RC"
	check_has "$1: says \"$3\"" "$3" "$ERR"
	check_eq "$1: one line on stderr" 1 "$(printf '%s\n' "$ERR" | grep -c .)"
	check "$1: PROG not run" test ! -e "$MARKS/$1"
	check "$1: no tap left" wait_for 50 taps_are 0
}

# helper_via_qc LABEL USER SOCK BRIDGE [HELPER]: ontap-helper run the way
# qemu runs it; RC, OUT (qemu-call's tap= line if it got a tap), ERR
helper_via_qc() {
	local label=$1 user=$2 sock=$3 br=$4 helper=${5:-$HELPER}
	RC=0
	run_as "$user" init env ONTAP_SOCKET="$sock" "$QC" "$helper" "$br" \
		>"$T/$label.out" 2>"$T/$label.err" </dev/null || RC=$?
	OUT=$(cat "$T/$label.out")
	ERR=$(grep -v -e '^helper exit=' -e '^qemu-call: ' "$T/$label.err" || true)
}

# fake_up NAME USER MODE [ARG]: fakebroker serving $T/NAME.sock as USER; FS, FPID
fake_up() {
	local name=$1 user=$2
	shift 2
	FS=$T/fake/$name.sock
	spawn_as /dev/null "$T/fake-$name.out" "$T/fake-$name.err" "$user" none "$FAKE" "$FS" "$@"
	FPID=$SPAWN_PID
	wait_for 100 grep -q '^ready$' "$T/fake-$name.out" ||
		die "fakebroker $name not ready: $(cat "$T/fake-$name.err")"
}
fake_requests() { grep -c '^request ' "$T/fake-$1.out" || true; }

# ==== trust ======================================================================

trust() {
	local evil why
	log "trust: a server run by another ordinary user is refused (issue 12 item 5)"
	mkdir -m 1777 "$T/fake"
	# mallory's own persistent tap, on br1: no privilege needed to hold it
	ip tuntap add dev evil0 mode tap user "$MALLORY"
	ip link set evil0 master br1 up
	fake_up mal "$MALLORY" tap evil0
	why="refusing the server at \`$FS': it runs as uid $M_UID, and ontap-broker must run as root (uid 0)"
	helper_via_qc mal-helper "$ALICE" "$FS" br0
	check_eq "mal-helper: exit 1" 1 "$RC"
	check_has "mal-helper: names the socket, the uid and what was expected" "$why" "$ERR"
	check_eq "mal-helper: qemu-call got no tap" "" "$(grep '^tap=' "$T/mal-helper.out" || true)"
	tapc mal-tap "$ALICE" "$FS" br0 $(mark mal-tap)
	tap_refused_keep mal-tap 1 "$why"
	check_eq "mallory's server got no request at all" 0 "$(fake_requests mal)"
	# ONTAP_SOCKET picks the socket, nothing picks whom to trust
	helper_via_qc mal-env "$ALICE" "$FS" br0
	check_has "mal-env: still refused" "refusing the server" "$ERR"
	check_eq "mal: evil0 is held by mallory's server alone, not by any client" "fakebroker" \
		"$(tap_holders evil0)"
	end_fake

	log "trust: a root server handing over a tap on another bridge, or no tap"
	fake_up wrongbr root tap evil0
	helper_via_qc wrongbr-helper "$ALICE" "$FS" br0
	check_eq "wrongbr-helper: exit 1" 1 "$RC"
	check_has "wrongbr-helper: the tap is not on br0" "tap \`evil0' is not attached to bridge \`br0'" "$ERR"
	check_eq "wrongbr-helper: qemu-call got no tap" "" "$(grep '^tap=' "$T/wrongbr-helper.out" || true)"
	tapc wrongbr-tap "$ALICE" "$FS" br0 $(mark wrongbr-tap)
	tap_refused_keep wrongbr-tap 1 "tap \`evil0' is not attached to bridge \`br0'"
	check_eq "wrongbr: the server was asked twice" 2 "$(fake_requests wrongbr)"
	check_eq "wrongbr: evil0 is held by the server alone" "fakebroker" "$(tap_holders evil0)"
	end_fake
	fake_up notap root file /dev/null
	tapc notap "$ALICE" "$FS" br0 $(mark notap)
	tap_refused_keep notap 1 "bad answer from ontap-broker: descriptor 1 is not a tap"
	helper_via_qc notap-helper "$ALICE" "$FS" br0
	check_has "notap-helper: not a tap" "descriptor 1 is not a tap" "$ERR"
	end_fake
	ip link del evil0

	log "trust: protocol versions both ways"
	fake_up v1 root v1
	tapc v1-tap "$ALICE" "$FS" br0 $(mark v1-tap)
	tap_refused v1-tap 1 "ontap-broker at \`$FS' is too old: it speaks protocol version 1 only (this client needs version 2)"
	check_eq "v1: the old server saw a version-2 request" "request version=2" \
		"$(grep '^request' "$T/fake-v1.out" || true)"
	helper_via_qc v1-helper "$ALICE" "$FS" br0
	check_has "v1-helper: ontap-helper speaks version 1 to it (its refusal comes through)" \
		"fake v1 broker" "$ERR"
	end_fake
	broker_up compat ""
	helper_via_qc compat-helper "$ALICE" "$S" br0
	check_eq "compat: a version-1 client (ontap-helper) is served by this broker" 0 "$RC"
	check_match "compat: ... a tap on br0" "^tap=tap[0-9]+ .*master=br0" "$OUT"
	check_match "compat: the audit record says one queue" "verdict=grant .* queues=1 errno=0" \
		"$(grep verdict= "$L" | tail -n 1)"
	stop_and_forget "$BROKER_PID"
	check "trust: no tap left" wait_for 50 taps_are 0
}

# like tap_refused, for servers that keep a tap of their own alive
tap_refused_keep() {
	check_eq "$1: exit $2" "$2" "$RC"
	check_has "$1: says \"$3\"" "$3" "$ERR"
	check_eq "$1: one line on stderr" 1 "$(printf '%s\n' "$ERR" | grep -c .)"
	check "$1: PROG not run" test ! -e "$MARKS/$1"
}

# tap_holders NAME: the commands of the processes holding a queue of tap NAME
tap_holders() {
	local f pid
	for f in /proc/[0-9]*/fdinfo/*; do
		grep -qsx "iff:[[:space:]]*$1" "$f" || continue
		pid=${f#/proc/}
		cat "/proc/${pid%%/*}/comm" 2>/dev/null
	done | sort -u | xargs
}

end_fake() {
	stop_and_forget "$FPID"
	rm -f "$FS"
}

# ==== tap ======================================================================

tap() {
	local p fds
	broker_up tap $'max-queues 4\nmax-taps user '"$CAROL"$' 2'
	log "tap: one queue, the defaults"
	tapc one "$ALICE" "$S" br0 sh -c 'echo "fds=$ONTAP_FDS fd=$ONTAP_FD ifname=$ONTAP_IFNAME"
		echo "fd3=$(readlink /proc/self/fd/3) fd4=$(readlink /proc/self/fd/4 || echo none)"
		echo "master=$(basename "$(readlink /sys/class/net/$ONTAP_IFNAME/master)")"
		echo "flags=$(cat /sys/class/net/$ONTAP_IFNAME/tun_flags)"'
	check_eq "one: PROG ran, ontap-tap's status is its 0" 0 "$RC"
	check_match "one: ONTAP_FDS=3, ONTAP_FD=3, ONTAP_IFNAME=tapN" '^fds=3 fd=3 ifname=tap[0-9]+$' "$OUT"
	check_match "one: fd 3 is the tap, inherited; nothing at 4" '^fd3=/dev/net/tun fd4=none$' "$OUT"
	check_match "one: on br0" '^master=br0$' "$OUT"
	check_match "one: a tap, no pi, no vnet_hdr, not multiqueue (0x1002)" '^flags=0x1002$' "$OUT"
	check_eq "one: nothing on stderr" "" "$ERR"
	check "one: gone once PROG is" wait_for 50 taps_are 0

	log "tap: 4 queues at --fd 7, with a vnet header"
	tapc four "$ALICE" "$S" --queues 4 --fd 7 --vnet-hdr br0 sh -c 'echo "fds=$ONTAP_FDS fd=$ONTAP_FD"
		for f in 7 8 9 10; do readlink /proc/self/fd/$f; done | sort | uniq -c | sed "s/^ */n=/"
		echo "flags=$(cat /sys/class/net/$ONTAP_IFNAME/tun_flags)"
		ip -d link show "$ONTAP_IFNAME" | grep -o "multi_queue numqueues [0-9]*"'
	check_eq "four: exit 0" 0 "$RC"
	check_match "four: ONTAP_FDS=7:8:9:10, ONTAP_FD=7" '^fds=7:8:9:10 fd=7$' "$OUT"
	check_has "four: 7..10 are four /dev/net/tun" "n=4 /dev/net/tun" "$OUT"
	check_match "four: multi_queue and vnet_hdr (0x5102)" '^flags=0x5102$' "$OUT"
	check_has "four: the kernel counts 4 queues" "multi_queue numqueues 4" "$OUT"
	check_match "four: the audit record says 4 queues" "verdict=grant .* vnet_hdr=1 queues=4 errno=0" \
		"$(grep verdict= "$L" | tail -n 1)"
	check "four: gone once PROG is" wait_for 50 taps_are 0

	log "tap: a program that is not qemu answers a frame from the bridge side"
	frame_exchange

	log "tap: refusals"
	tapc deny "$BOB" "$S" br0 $(mark deny)
	tap_refused deny 1 "access denied by acl file"
	tapc toomany "$ALICE" "$S" --queues 5 br0 $(mark toomany)
	tap_refused toomany 1 "5 queues asked, at most 4 (max-queues in ontap.conf)"
	tapc nobr "$ALICE" "$S" brnone $(mark nobr)
	tap_refused nobr 1 "failed to get mtu of bridge \`brnone'"
	for a in "--queues 0" "--queues 129" "--queues" "--fd 2" "--bogus" "br/0"; do
		p=usage-$(printf '%s' "$a" | tr -c 'a-z0-9' '_')
		# shellcheck disable=SC2086 # the options are meant to split
		tapc "$p" "$ALICE" "$S" $a br0 $(mark "$p")
		tap_refused "$p" 100 "usage: ontap-tap"
	done
	tapc usage-noprog "$ALICE" "$S" br0
	tap_refused usage-noprog 100 "missing PROG"
	tapc down "$ALICE" "$T/absent.sock" br0 $(mark down)
	tap_refused down 111 "cannot reach ontap-broker at \`$T/absent.sock'"
	tapc noexec "$ALICE" "$S" br0 "$T/no-such-program"
	tap_refused noexec 127 "cannot run \`$T/no-such-program'"

	log "tap: quota (carol: 2 taps); a multiqueue tap counts once"
	hold_tap q1 "$CAROL" --queues 4
	hold_tap q2 "$CAROL"
	tapc quota "$CAROL" "$S" br0 $(mark quota)
	tap_refused_keep quota 1 "tap quota reached: uid $C_UID has 2 of 2 taps"
	unhold_tap q1
	unhold_tap q2
	check "quota: no tap left" wait_for 50 taps_are 0
	stop_and_forget "$BROKER_PID"

	log "tap: broker stopped"
	tapc stopped "$ALICE" "$S" br0 $(mark stopped)
	tap_refused stopped 111 "cannot reach ontap-broker"
}

# hold_tap LABEL USER [OPTIONS]: ontap-tap running sleep with the tap; HT_PID
declare -A HT_PID
hold_tap() {
	local label=$1 user=$2
	shift 2
	spawn_as /dev/null "$T/$label.out" "$T/$label.err" "$user" init env ONTAP_SOCKET="$S" \
		"$TAPC" "$@" br0 sh -c 'echo "$ONTAP_IFNAME"; exec sleep 50'
	HT_PID[$label]=$SPAWN_PID
	wait_for 100 test -s "$T/$label.out" || true
	check_match "$label: holds a tap" '^tap[0-9]+$' "$(cat "$T/$label.out")"
}
unhold_tap() {
	stop_and_forget "${HT_PID[$1]}"
}

# tapframe as alice claims 198.18.0.2; the host's kernel ARPs for it on br0
frame_exchange() {
	local mac=02:00:c6:12:00:02 i
	ip neigh flush dev br0
	spawn_as /dev/null "$T/frame.out" "$T/frame.err" "$ALICE" init env ONTAP_SOCKET="$S" \
		"$TAPC" br0 "$FRAME" 198.18.0.2 "$mac" 15
	p=$SPAWN_PID
	wait_for 100 grep -q '^fd 3: tap tap[0-9]*, inherited$' "$T/frame.out" || true
	check_match "frame: tapframe has the tap at fd 3, inherited" '^fd 3: tap tap[0-9]+, inherited$' \
		"$(head -n 1 "$T/frame.out")"
	# a datagram to 198.18.0.2 makes the kernel ask who has it, out of br0
	for ((i = 0; i < 20; i++)); do
		proc_gone "$p" && break
		(echo x >/dev/udp/198.18.0.2/9) 2>/dev/null || true
		sleep 0.5
	done
	wait_for 100 proc_gone "$p" || true
	check_match "frame: tapframe got the ARP request from br0 and replied" \
		"^arp request for 198.18.0.2 from $(cat /sys/class/net/br0/address): replied$" \
		"$(tail -n 1 "$T/frame.out")"
	check_match "frame: br0 learnt 198.18.0.2 at tapframe's MAC from its reply" "lladdr $mac" \
		"$(ip neigh show 198.18.0.2 dev br0)"
	stop_and_forget "$p"
	check "frame: no tap left" wait_for 50 taps_are 0
}

# ==== qemu ======================================================================

qemu() {
	local dir=$T/qemu mac=02:00:c6:12:00:03 qpid tap
	broker_up qemu "max-queues 4"
	mkdir -m 0755 "$dir"
	chown "$ALICE:" "$dir"
	guest_stage "$BUILD" "$T/guest"
	guest_accel "$ALICE" "$dir/probe" "$T/guest"
	log "qemu: $(qemu-system-x86_64 --version | head -n 1), accel $ACCEL ($KVM_NOTE)"
	ip neigh flush dev br0
	# 4 vCPUs: the guest's virtio-net enables as many queue pairs as it has CPUs
	guest_qemu_argv "$T/guest" "$dir/serial.log" 4 \
		"ontap.ip=198.18.0.2/24 ontap.peer=198.18.0.1 ontap.hold=20"
	spawn_as /dev/null "$dir/qemu.out" "$dir/qemu.err" "$ALICE" init env ONTAP_SOCKET="$S" \
		"$TAPC" --queues 4 --vnet-hdr br0 sh -c 'exec "$@" -netdev "tap,id=n0,fds=$ONTAP_FDS" \
			-device "virtio-net-pci,netdev=n0,mq=on,vectors=10,mac='"$mac"'"' qemu "${QEMU[@]}"
	qpid=$SPAWN_PID
	wait_for 900 grep -aqs 'ontap-guest: RESULT' "$dir/serial.log" || true
	check_has "qemu: the guest pinged 198.18.0.1" "ontap-guest: RESULT PASS ping 198.18.0.1" \
		"$(grep -a 'ontap-guest: RESULT' "$dir/serial.log" || cat "$dir/qemu.err")"
	check_has "qemu: the guest has 4 rx and 4 tx queues on eth0" "eth0 queues rx=4 tx=4" \
		"$(grep -a 'ontap-guest: eth0 queues' "$dir/serial.log" || true)"
	check_match "qemu: br0 learnt the guest's MAC" "lladdr $mac" "$(ip neigh show 198.18.0.2 dev br0)"
	tap=$(ip -o link show master br0 | grep -o 'tap[0-9]*' | head -n 1 || true)
	check_has "qemu: the host's tap $tap is multi_queue with 4 queues attached" \
		"multi_queue numqueues 4 numdisabled 0" "$(ip -d link show "${tap:-none}" 2>&1)"
	check_match "qemu: the audit record: 4 queues, vnet_hdr" "verdict=grant .* vnet_hdr=1 queues=4 errno=0" \
		"$(grep verdict= "$L" | tail -n 1)"
	wait_for 600 proc_gone "$qpid" || true
	check "qemu: ran to the guest's poweroff" proc_gone "$qpid"
	stop_and_forget "$qpid"
	check "qemu: the tap is gone after" wait_for 50 taps_are 0
	stop_and_forget "$BROKER_PID"
}

for p in "${PARTS[@]}"; do
	"$p"
done
log "clients ${PARTS[*]}: $((SECONDS - START)) s"
finish

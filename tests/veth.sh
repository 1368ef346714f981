#!/bin/bash
# The veth kind end to end, as root, in its own mount and network namespaces,
# with users made for the test:
#   veth.sh BUILD_DIR native       ontap-veth: inside `unshare -Urn', with --pid,
#                                  quotas shared with taps, and the refusals
#   veth.sh BUILD_DIR lxc          ontap-lxc-user-nic and lxc-usernet
#   veth.sh BUILD_DIR rootlesskit  rootlesskit --net=lxc-user-nic with dnsmasq
#   veth.sh BUILD_DIR differential ontap-lxc-user-nic against Debian's setuid
#                                  lxc-user-nic over the same scenarios
# Every refusal is checked to leave nothing: no veth on the host, no new link
# in the target namespace.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

[ $# -eq 2 ] || die "usage: $0 BUILD_DIR native|lxc|rootlesskit|differential"
require_root
BUILD=$(realpath -e "$1")
PART=$2
case $PART in native | lxc | rootlesskit | differential) ;; *) die "unknown part: $PART" ;; esac
# Debian's lxc-user-nic (package liblxc-common, whose lib liblxc1 deps.sh
# installs), unpacked into the build directory once, never installed: the
# network is needed for that, so before entering the test's namespaces.
REFDIR=$BUILD/veth-ref
ref_deb() { find "$REFDIR/deb" -name 'liblxc-common_*.deb' | sort | tail -n 1; }
if [ -z "${ONTAP_TEST_NS:-}" ]; then
	bash "$HERE/veth/deps.sh"
	if [ "$PART" = differential ] && [ ! -x "$REFDIR/usr/libexec/lxc/lxc-user-nic" ]; then
		mkdir -p "$REFDIR/deb"
		# apt's _apt user may not write here: it then downloads as root, and says so
		(cd "$REFDIR/deb" && apt-get download -q liblxc-common 2>&1) |
			{ grep -v '^W: Download is performed unsandboxed' || true; }
		dpkg-deb -x "$(ref_deb)" "$REFDIR" || die "cannot unpack liblxc-common from $REFDIR/deb"
	fi
fi
enter_test_ns "$@"
init_test_env
for c in ping nsenter pgrep; do
	command -v "$c" >/dev/null || die "missing command: $c"
done

stage_binaries "$BUILD" ontap-veth ontap-lxc-user-nic
VETH=$BIN/ontap-veth
LUN=$BIN/ontap-lxc-user-nic
VC=$BUILD/tests/vethcall
W=$T/w                   # where test users write
mkdir -m 0777 "$W"

G_NET=${ONTAP_TAG}n G_LXC=${ONTAP_TAG}x
ALICE=${ONTAP_TAG}alice BOB=${ONTAP_TAG}bob CAROL=${ONTAP_TAG}carol
add_group "$G_NET"
add_group "$G_LXC"
add_user "$ALICE" "$G_NET"
add_user "$BOB"
add_user "$CAROL" "$G_LXC"

make_bridge br0 1400 198.18.0.1/24
make_bridge br9000 9000 198.18.1.1/24
make_nonbridge nb0

ACL=$T/bridge.conf
put_file "$ACL" "root:root" 0644 <<EOF2
allow br0
allow br9000
allow nb0
allow br1
EOF2
# a tap and a veth count against the same quota: alice may have 3 in all
CONF=$T/ontap.conf
put_file "$CONF" root:root 0644 <<EOF2
max-taps user $ALICE 3
lock-file $T/quota.lock
EOF2

export ONTAP_SOCKET=$T/broker.sock
LOGF=$T/broker.log
"$BUILD/ontap-broker" --config "$CONF" --socket "$ONTAP_SOCKET" --acl "$ACL" 2>>"$LOGF" &
BROKER_PID=$!
ONTAP_PIDS+=("$BROKER_PID")
wait_for 100 test -S "$ONTAP_SOCKET" || { cat "$LOGF" >&2; die "no broker socket"; }

# ---- helpers ---------------------------------------------------------------

host_veths() { ip -o link show type veth | grep -c 'alias ontap/1' || true; }
all_veths() { ip -o link show type veth | wc -l; }
ns_links() { nsenter -t "$1" -n ip -o link show | wc -l; }
# ns_link PID DEV FIELD: mtu or ifindex of DEV in PID's netns (sysfs here shows ours)
ns_link() {
	local line
	line=$(nsenter -t "$1" -n ip -o link show dev "$2") || return 1
	case $3 in
	mtu) sed -n 's/.* mtu \([0-9]*\) .*/\1/p' <<<"$line" ;;
	ifindex) echo "${line%%:*}" ;;
	esac
}
other_ns() { [ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ]; }
veth_gone_from_host() { [ "$(host_veths)" -eq "$1" ]; }
all_veths_are() { [ "$(all_veths)" -eq "$1" ]; }
last_record() { grep -E 'verdict=(grant|deny|refuse) .*kind=veth' "$LOGF" | tail -n 1; }

# netns_as USER GROUPS: a process of USER in `unshare -Urn', sleeping; sets NSPID
# (the unshared process itself) and NSWRAP (what to stop).
netns_as() {
	spawn_as /dev/null /dev/null /dev/null "$1" "$2" unshare -Urn sleep 60
	NSWRAP=$SPAWN_PID
	NSPID=""
	wait_for 50 ns_ready "$NSWRAP" || die "no namespace process for $1"
}
ns_ready() {
	local p
	p=$(pgrep -P "$1" -x sleep || true)
	[ -n "$p" ] || return 1
	[ "$(readlink "/proc/$p/ns/net")" != "$(readlink /proc/self/ns/net)" ] || return 1
	NSPID=$p
}
stop_ns() {
	stop_pid "$NSWRAP"
	forget_pid "$NSWRAP"
}

# refused LABEL WANT-STATUS WANT-TEXT CMD...: CMD fails with that status,
# says WANT-TEXT on stderr, and no veth is left on the host.
refused() {
	local label=$1 want=$2 text=$3 before rc=0
	shift 3
	before=$(all_veths)
	"$@" >"$T/$label.out" 2>"$T/$label.err" || rc=$?
	check_eq "$label: exit status" "$want" "$rc"
	check_has "$label: says why" "$text" "$(cat "$T/$label.err")"
	check_eq "$label: nothing on stdout" "" "$(cat "$T/$label.out")"
	check_eq "$label: no veth left on the host" "$before" "$(all_veths)"
}

# ---- ontap-veth ------------------------------------------------------------

part_native() {
	local name ifx peer pifx pid

	log "inside unshare -Urn, the caller's own namespace"
	# shellcheck disable=SC2016 # expanded by the inner shell
	spawn_as /dev/null "$W/own.out" "$W/own.err" "$ALICE" init unshare -Urn sh -c \
		'"$0" br0 >"$1/own.veth" && ip link set lo up && ip link set eth0 up &&
		 ip addr add 198.18.0.2/24 dev eth0 && touch "$1/own.ready"; exec sleep 60' "$VETH" "$W"
	local wrap=$SPAWN_PID
	wait_for 100 test -e "$W/own.ready" || fail "ontap-veth inside unshare -Urn" "$(cat "$W/own.err")"
	pid=$(pgrep -P "$wrap" -x sleep)
	read -r name ifx peer pifx _ <"$W/own.veth"
	check_match "prints host end, ifindex, peer, ifindex, bridge" '^veth[a-z0-9]{6} [0-9]+ eth0 [0-9]+ br0$' "$(cat "$W/own.veth")"
	check_eq "eth0 inside has the bridge's MTU" 1400 "$(ns_link "$pid" eth0 mtu)"
	check_eq "eth0's ifindex is the one printed" "$pifx" "$(ns_link "$pid" eth0 ifindex)"
	check_eq "host end has the bridge's MTU" 1400 "$(cat "/sys/class/net/$name/mtu")"
	check_eq "host end's ifindex is the one printed" "$ifx" "$(cat "/sys/class/net/$name/ifindex")"
	check_eq "host end is on br0" br0 "$(basename "$(readlink "/sys/class/net/$name/master")")"
	check "host end is up" grep -q up "/sys/class/net/$name/operstate"
	check_match "host end's MAC starts with fe" '^fe:' "$(cat "/sys/class/net/$name/address")"
	check "ping from the host to the namespace" ping -q -c 1 -W 3 198.18.0.2 >/dev/null
	check "ping from the namespace to the host" nsenter -t "$pid" -n ping -q -c 1 -W 3 198.18.0.1 >/dev/null
	check_match "audit: grant, kind=veth, owner" \
		"verdict=grant uid=$(id -u "$ALICE") .*kind=veth bridge=\"br0\" veth=$name ifindex=$ifx peer=\"eth0\" peer_ifindex=$pifx netns_owner=$(id -u "$ALICE") policy=bridge.conf" \
		"$(last_record)"
	check_match "--list shows it, state veth" "^$name +br0 +$ALICE .* veth$" "$("$BUILD/ontap-broker" --list)"
	stop_pid "$wrap"
	forget_pid "$wrap"
	check "the pair goes with the namespace" wait_for 50 link_gone "$name"

	log "--pid, another name, another bridge"
	netns_as "$ALICE" init
	run_as "$ALICE" init "$VETH" --pid "$NSPID" --name e1 br9000 >"$T/pid.out" 2>"$T/pid.err" ||
		fail "ontap-veth --pid" "$(cat "$T/pid.err")"
	read -r name ifx peer pifx _ <"$T/pid.out"
	check_eq "--name e1 inside" e1 "$peer"
	check_eq "e1 has br9000's MTU" 9000 "$(ns_link "$NSPID" e1 mtu)"
	check_eq "host end on br9000" br9000 "$(basename "$(readlink "/sys/class/net/$name/master")")"
	refused "peer name taken" 1 "an interface of that name exists there" \
		run_as "$ALICE" init "$VETH" --pid "$NSPID" --name e1 br0
	check_eq "peer name taken: namespace unchanged" 2 "$(ns_links "$NSPID")"

	log "quotas: veths and taps together (max-taps user alice 3)"
	run_as "$ALICE" init "$VETH" --pid "$NSPID" --name e2 br0 >/dev/null
	spawn_as /dev/null "$T/tap.out" "$T/tap.err" "$ALICE" init "$QC" --hold 30 "$HELPER" br0
	local tapper=$SPAWN_PID
	check "alice's tap is made and held" wait_for 100 taps_are 1
	refused "veth over quota" 1 "tap quota reached: uid $(id -u "$ALICE") has 3 of 3" \
		run_as "$ALICE" init "$VETH" --pid "$NSPID" --name e3 br0
	stop_pid "$tapper"
	forget_pid "$tapper"
	stop_ns
	check "both veths go with the namespace" wait_for 50 veth_gone_from_host 0
	netns_as "$ALICE" init
	check "the quota frees with them" run_as "$ALICE" init "$VETH" --pid "$NSPID" br0 >/dev/null

	log "refusals"
	refused "another user's namespace" 1 "belongs to uid $(id -u "$ALICE"), not to uid $(id -u "$BOB")" \
		run_as "$BOB" init "$VETH" --netns /proc/self/fd/3 br0 3<"/proc/$NSPID/ns/net"
	refused "another user's pid" 1 "cannot open \`/proc/$NSPID/ns/net'" \
		run_as "$BOB" init "$VETH" --pid "$NSPID" br0
	refused "the host's own namespace" 1 "the broker's own network namespace" \
		run_as "$ALICE" init "$VETH" br0
	unshare -n sleep 60 &
	local rootns=$!
	ONTAP_PIDS+=("$rootns")
	wait_for 20 other_ns "$rootns" || die "no root namespace process"
	refused "root's namespace, asked by root" 1 "belongs to the host" \
		"$VETH" --pid "$rootns" br0
	refused "root's namespace, its fd passed to alice" 1 "belongs to the host" \
		run_as "$ALICE" init "$VETH" --netns /proc/self/fd/3 br0 3<"/proc/$rootns/ns/net"
	check_eq "root's namespace: unchanged" 1 "$(ns_links "$rootns")"
	stop_pid "$rootns"
	forget_pid "$rootns"
	refused "not a namespace" 1 "not a network namespace" \
		run_as "$ALICE" init "$VETH" --netns /etc/passwd br0
	refused "not a bridge" 1 "\`nb0' is not a bridge" \
		run_as "$ALICE" init "$VETH" --pid "$NSPID" nb0
	refused "no such bridge" 1 "failed to get mtu of bridge \`br1'" \
		run_as "$ALICE" init "$VETH" --pid "$NSPID" br1
	refused "denied by bridge.conf" 1 "access denied" \
		run_as "$ALICE" init "$VETH" --pid "$NSPID" br7
	check_match "audit: deny for bridge.conf" 'verdict=deny .*kind=veth bridge="br7"' "$(last_record)"
	refused "a pid that does not exist" 1 "no process 2147483647" \
		run_as "$ALICE" init "$VETH" --pid 2147483647 br0
	refused "bad argv: no bridge" 2 "a bridge is needed" run_as "$ALICE" init "$VETH"
	refused "bad argv: --pid x" 2 "--pid: not a process id" run_as "$ALICE" init "$VETH" --pid x br0
	refused "bad argv: --pid and --netns" 2 "exclude each other" \
		run_as "$ALICE" init "$VETH" --pid 1 --netns /x br0
	refused "bad argv: a 16-byte name" 2 "not a valid interface name" \
		run_as "$ALICE" init "$VETH" --name abcdefghijklmnop br0
	refused "bad argv: a 16-byte bridge" 2 "not a valid bridge name" \
		run_as "$ALICE" init "$VETH" abcdefghijklmnop
	log "servers that are not the broker"
	local fake
	spawn_as /dev/null "$T/fake1.out" "$T/fake1.err" "$BOB" init "$BUILD/tests/fakebroker" \
		"$W/fake.sock" file /etc/passwd
	fake=$SPAWN_PID
	wait_for 50 grep -q ready "$T/fake1.out" || die "fakebroker did not start"
	refused "a server run by another user" 1 "refusing the server at \`$W/fake.sock': it runs as uid $(id -u "$BOB")" \
		run_as "$ALICE" init env ONTAP_SOCKET="$W/fake.sock" "$VETH" --pid "$NSPID" br0
	stop_pid "$fake"
	forget_pid "$fake"
	rm -f "$W/fake.sock"
	"$BUILD/tests/fakebroker" "$T/v1.sock" v1 >"$T/fake2.out" 2>"$T/fake2.err" &
	fake=$!
	ONTAP_PIDS+=("$fake")
	wait_for 50 grep -q ready "$T/fake2.out" || die "fakebroker v1 did not start"
	refused "a version-1 broker" 1 "is too old: it speaks protocol version 1 only" \
		run_as "$ALICE" init env ONTAP_SOCKET="$T/v1.sock" "$VETH" --pid "$NSPID" br0
	stop_pid "$fake"
	forget_pid "$fake"
	check_eq "refusals: the namespace has only lo and its one veth" 2 "$(ns_links "$NSPID")"
	stop_ns
	check "no veth left at the end" wait_for 50 veth_gone_from_host 0
	part_native_paths
}

# The request path's own cases: a grant the client never receives (the
# listener has the maker delete the pair), and an --inetd instance (worker,
# then the maker's work in its own privileged parent).
part_native_paths() {
	local ilog=$T/inetd.log before
	netns_as "$ALICE" init
	log "a grant that cannot be delivered: the pair is deleted"
	before=$(all_veths)
	"$VC" --as "$ALICE" --shut-rd "/proc/$NSPID/ns/net" br0 e5 "$ONTAP_SOCKET" \
		>"$T/undeliv.out" 2>"$T/undeliv.err" || true
	check_eq "undeliverable: the broker hangs up" "shut closed" "$(paste -sd' ' "$T/undeliv.out")"
	check "undeliverable: recorded as refused" grep -q \
		"verdict=refuse uid=$(id -u "$ALICE") .*kind=veth .*reason=\"cannot send the veth to the caller" "$LOGF"
	check "undeliverable: the maker deletes the pair" \
		wait_for 50 grep -q "whose grant could not be sent: deleted" "$LOGF"
	check "undeliverable: no veth left on the host" wait_for 50 all_veths_are "$before"
	check_eq "undeliverable: nothing left in the namespace" 1 "$(ns_links "$NSPID")"

	log "--inetd"
	: >"$ilog"
	"$VC" --as "$ALICE" "/proc/$NSPID/ns/net" br0 e6 --inetd "$BUILD/ontap-broker" --inetd \
		--config "$CONF" --acl "$ACL" >"$T/inetd.out" 2>>"$ilog" || true
	check_match "--inetd: granted" '^grant veth=veth[a-z0-9]{6} ifindex=[0-9]+ peer=e6 peer_ifindex=[0-9]+$' \
		"$(head -n 1 "$T/inetd.out")"
	check_eq "--inetd: the instance exits 0" "broker exit=0" "$(tail -n 1 "$T/inetd.out")"
	check_eq "--inetd: e6 inside has br0's MTU" 1400 "$(ns_link "$NSPID" e6 mtu)"
	check_match "--inetd: audit" \
		"verdict=grant uid=$(id -u "$ALICE") .*kind=veth bridge=\"br0\" veth=veth[a-z0-9]{6} ifindex=[0-9]+ peer=\"e6\" .*netns_owner=$(id -u "$ALICE") policy=bridge.conf" \
		"$(grep 'kind=veth' "$ilog" | tail -n 1)"
	before=$(all_veths)
	"$VC" --as "$ALICE" --shut-rd "/proc/$NSPID/ns/net" br0 e7 --inetd "$BUILD/ontap-broker" --inetd \
		--config "$CONF" --acl "$ACL" >"$T/inetd2.out" 2>>"$ilog" || true
	check_eq "--inetd, undeliverable: the instance hangs up and exits 0" "shut closed broker exit=0" \
		"$(paste -sd' ' "$T/inetd2.out")"
	check "--inetd, undeliverable: the instance deletes the pair" \
		grep -q "whose grant could not be sent: deleted" "$ilog"
	check_eq "--inetd, undeliverable: no veth left on the host" "$before" "$(all_veths)"
	check_eq "--inetd, undeliverable: only lo and e6 in the namespace" 2 "$(ns_links "$NSPID")"
	local rc=0
	"$VC" --as "$BOB" "/proc/$NSPID/ns/net" br0 - --inetd "$BUILD/ontap-broker" --inetd \
		--config "$CONF" --acl "$ACL" >"$T/inetd3.out" 2>>"$ilog" || rc=$?
	check_eq "--inetd: another user's namespace: refused" 1 "$rc"
	check_has "--inetd: another user's namespace: says why" \
		"refuse errno=1 reason=the target network namespace belongs to uid $(id -u "$ALICE"), not to uid $(id -u "$BOB")" \
		"$(cat "$T/inetd3.out")"
	check_eq "--inetd: another user's namespace: no veth left on the host" "$before" "$(all_veths)"
	stop_ns
	check "no veth left after them" wait_for 50 veth_gone_from_host 0
}

# ---- ontap-lxc-user-nic ------------------------------------------------------

# lxc-usernet FILE: bind-mounted over the path the broker reads, in this
# mount namespace only (the directory made, and removed at exit, if absent)
use_usernet() {
	local f=/etc/lxc/lxc-usernet
	if [ ! -d /etc/lxc ]; then
		mkdir -m 0755 /etc/lxc
		ONTAP_CLEANUPS+=("rmdir /etc/lxc")
	fi
	if [ ! -e "$f" ]; then
		: >"$f"
		ONTAP_CLEANUPS+=("rm -f $f")
	fi
	mount --bind "$1" "$f"
	# run in reverse: unmounted before the file and directory are removed
	ONTAP_CLEANUPS+=("umount $f")
}

part_lxc() {
	local out a b c d

	put_file "$T/usernet" root:root 0644 <<EOF2
# test
$ALICE veth br0 1
@$G_LXC veth br0 2
$BOB veth br9000 1
EOF2
	use_usernet "$T/usernet"

	log "create: lxc-user-nic's output, eth%d when no name is given"
	netns_as "$ALICE" init
	run_as "$ALICE" init "$LUN" create /lxc c1 "$NSPID" veth br0 >"$T/l1.out" 2>"$T/l1.err" ||
		fail "ontap-lxc-user-nic create" "$(cat "$T/l1.err")"
	out=$(cat "$T/l1.out")
	check_match "stdout: NIC:IFINDEX:HOSTVETH:IFINDEX" '^eth0:[0-9]+:veth[a-z0-9]{6}:[0-9]+$' "$out"
	IFS=: read -r a b c d <<<"$out"
	check_eq "its ifindex inside" "$b" "$(ns_link "$NSPID" "$a" ifindex)"
	check_eq "host end on br0" br0 "$(basename "$(readlink "/sys/class/net/$c/master")")"
	check_eq "host ifindex" "$d" "$(cat "/sys/class/net/$c/ifindex")"
	check_match "audit: policy lxc-usernet, charged to alice" \
		"verdict=grant .*kind=veth .*policy=lxc-usernet lxc=\"$ALICE\"" "$(last_record)"
	check_has "alias records the charge" "lxc=$ALICE" "$(ip -d link show "$c")"
	refused "count used up" 1 "Quota reached" \
		run_as "$ALICE" init "$LUN" create /lxc c1 "$NSPID" veth br0 eth1
	refused "no line for the bridge" 1 "no lxc-usernet entry" \
		run_as "$ALICE" init "$LUN" create /lxc c1 "$NSPID" veth br9000 eth1
	stop_ns
	check "the veth goes with the namespace" wait_for 50 veth_gone_from_host 0
	netns_as "$ALICE" init
	check "and the count frees with it" run_as "$ALICE" init "$LUN" create /lxc c1 "$NSPID" veth br0 eth5 >/dev/null
	stop_ns
	check "... and that veth goes with its namespace too" wait_for 50 veth_gone_from_host 0

	log "@group lines count supplementary groups, shared by the group"
	netns_as "$CAROL" init
	check "carol, in the group: 1 of 2" run_as "$CAROL" init "$LUN" create /l c "$NSPID" veth br0 eth0 >/dev/null
	check "carol, in the group: 2 of 2" run_as "$CAROL" init "$LUN" create /l c "$NSPID" veth br0 eth1 >/dev/null
	refused "carol: the group's count used up" 1 "Quota reached" \
		run_as "$CAROL" init "$LUN" create /l c "$NSPID" veth br0 eth2
	stop_ns
	# the kernel tears a dead namespace's veths down later: not during the next check
	check "carol's veths go with her namespace" wait_for 50 veth_gone_from_host 0
	netns_as "$CAROL" none
	refused "carol without her supplementary groups" 1 "no lxc-usernet entry" \
		run_as "$CAROL" none "$LUN" create /l c "$NSPID" veth br0 eth0
	stop_ns

	log "refusals"
	netns_as "$BOB" init
	refused "bob: no line for br0" 1 "no lxc-usernet entry for user \`$BOB', type veth, bridge \`br0'" \
		run_as "$BOB" init "$LUN" create /l c "$NSPID" veth br0 eth0
	# shellcheck disable=SC2016 # $$: the inner shell's own pid
	refused "bob: the host's own namespace (his pid)" 1 "the broker's own network namespace" \
		run_as "$BOB" init sh -c 'exec "$0" create /l c $$ veth br9000 eth0' "$LUN"
	stop_ns
	netns_as "$ALICE" init
	refused "bob: alice's pid" 1 "may not modify netns for pid $NSPID" \
		run_as "$BOB" init "$LUN" create /l c "$NSPID" veth br9000 eth0
	refused "a pid that does not exist" 1 "may not modify netns for pid 2147483647" \
		run_as "$ALICE" init "$LUN" create /l c 2147483647 veth br0 eth0
	refused "not a bridge" 1 "no lxc-usernet entry" \
		run_as "$ALICE" init "$LUN" create /l c "$NSPID" veth nb0 eth0
	refused "type other than veth" 1 "only veth" \
		run_as "$ALICE" init "$LUN" create /l c "$NSPID" macvlan br0 eth0
	refused "bad argv: too few" 1 "Usage: " run_as "$ALICE" init "$LUN" create /l c "$NSPID" veth
	refused "bad argv: too many" 1 "Usage: " run_as "$ALICE" init "$LUN" create /l c 1 veth br0 e x
	refused "bad argv: unknown command" 1 "Usage: " run_as "$ALICE" init "$LUN" make /l c 1 veth br0 e
	refused "bad argv: pid" 1 "Could not read pid" run_as "$ALICE" init "$LUN" create /l c 1x veth br0 e
	refused "delete: not implemented for a Linux bridge" 1 "Deletion of non ovs type" \
		run_as "$ALICE" init "$LUN" delete /l c "/proc/$NSPID/ns/net" veth br0 eth0
	check_eq "refusals: the namespace has only lo" 1 "$(ns_links "$NSPID")"
	stop_ns
	check "no veth left at the end" wait_for 50 veth_gone_from_host 0
}

part_rootlesskit() {
	local rk=$W/rk before out rc=0

	for c in rootlesskit dnsmasq newuidmap; do
		command -v "$c" >/dev/null || die "missing command: $c"
	done
	# rootlesskit maps a subordinate range (newuidmap): useradd gave one, or we do
	grep -q "^$ALICE:" /etc/subuid || die "no /etc/subuid range for $ALICE"
	grep -q "^$ALICE:" /etc/subgid || die "no /etc/subgid range for $ALICE"
	put_file "$T/usernet" root:root 0644 <<<"$ALICE veth br0 1"
	use_usernet "$T/usernet"

	log "dnsmasq serves DHCP on br0 (198.18.0.100-150), as root, in this netns only"
	dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --port=0 \
		--interface=br0 --bind-interfaces --except-interface=lo \
		--dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,1h \
		--dhcp-option=option:dns-server,198.18.0.1 \
		--dhcp-leasefile="$T/leases" --pid-file= --log-facility="$T/dnsmasq.log" &
	ONTAP_PIDS+=("$!")
	check "dnsmasq runs" wait_for 50 test -s "$T/dnsmasq.log"

	log "rootlesskit --net=lxc-user-nic with ontap-lxc-user-nic"
	before=$(all_veths)
	# shellcheck disable=SC2016 # run by the inner shell
	run_as "$ALICE" init env HOME="$W" XDG_RUNTIME_DIR="$W" rootlesskit --state-dir="$rk" \
		--net=lxc-user-nic --lxc-user-nic-binary="$LUN" --lxc-user-nic-bridge=br0 \
		sh -c 'ip -4 -o addr show dev eth0 &&
		       ping -q -c 1 -W 3 198.18.0.1 >/dev/null && echo PING-OK' \
		>"$T/rk.out" 2>"$T/rk.err" || rc=$?
	out=$(cat "$T/rk.out")
	check_eq "rootlesskit exits 0" 0 "$rc"
	[ "$rc" -eq 0 ] || log "$(tail -n 20 "$T/rk.err")"
	check_match "eth0 got a DHCP address from dnsmasq" 'eth0 +inet 198\.18\.0\.(1[0-4][0-9]|150)/24' "$out"
	check_has "eth0 pings the bridge" PING-OK "$out"
	check_match "audit: an lxc-usernet grant for alice" \
		"verdict=grant uid=$(id -u "$ALICE") .*kind=veth bridge=\"br0\" .*policy=lxc-usernet lxc=\"$ALICE\"" \
		"$(last_record)"
	check "no veth left after it exits" wait_for 50 all_veths_are "$before"
}

# ---- the differential test against Debian's lxc-user-nic ----------------------

# One scenario: "LABEL|RC|SHAPE" on stdout, SHAPE being the program's stdout
# with a host-side veth name as vethX and numbers as N (lxc-user-nic names
# its host end vethUID_XXXX, ontap vethXXXXXX: a documented difference).
shape() { sed -E 's/:veth[[:alnum:]_]+:/:vethX:/g; s/[0-9]+/N/g' "$1" | tr '\n' ' '; }
step() {
	local label=$1 rc=0
	shift
	"$@" >"$T/d.out" 2>"$T/d.err" || rc=$?
	printf '%s|%s|%s\n' "$label" "$rc" "$(shape "$T/d.out")"
	printf '%s: %s\n' "$label" "$(cat "$T/d.out")" >>"$T/$TOOLNAME.stdout"
	printf '%s: %s\n' "$label" "$(head -c 400 "$T/d.err" | tr '\n' ' ')" >>"$T/$TOOLNAME.stderr"
}
veth_none_left() { [ "$(ip -o link show type veth | grep -vc nb0)" -eq 0 ]; }

# users' lines only: lxc-user-nic 5.0.2 crashes on any @group line its caller
# is not in (see below), so the group scenarios get a file of their own
USERNET_USERS="$ALICE veth br0 1
$BOB veth br9000 2"
USERNET_GROUP="@$G_LXC veth br0 2"

# scenarios TOOL: the verdicts the issue lists, each from a clean slate
scenarios() {
	local tool=$1 apid
	printf '%s\n' "$USERNET_USERS" >"$T/usernet"
	netns_as "$ALICE" init
	apid=$NSPID
	step "alice: first veth, no nicname" run_as "$ALICE" init "$tool" create /l c "$apid" veth br0
	step "alice: count used up" run_as "$ALICE" init "$tool" create /l c "$apid" veth br0 eth1
	step "alice: no line for br9000" run_as "$ALICE" init "$tool" create /l c "$apid" veth br9000 eth1
	step "bob: alice's pid" run_as "$BOB" init "$tool" create /l c "$apid" veth br9000 eth0
	step "alice: a pid that does not exist" run_as "$ALICE" init "$tool" create /l c 2147483647 veth br0 eth0
	step "alice: too few arguments" run_as "$ALICE" init "$tool" create /l c "$apid" veth
	step "alice: too many arguments" run_as "$ALICE" init "$tool" create /l c "$apid" veth br0 e x
	step "alice: unknown command" run_as "$ALICE" init "$tool" make /l c "$apid" veth br0 eth0
	step "alice: bad pid" run_as "$ALICE" init "$tool" create /l c x veth br0 eth0
	step "alice: delete on a Linux bridge" \
		run_as "$ALICE" init "$tool" delete /l c "/proc/$apid/ns/net" veth br0 eth0
	stop_ns
	netns_as "$BOB" init
	step "bob: no line for br0" run_as "$BOB" init "$tool" create /l c "$NSPID" veth br0 eth0
	step "bob: his line for br9000" run_as "$BOB" init "$tool" create /l c "$NSPID" veth br9000 eth0
	step "bob: nicname taken in the container" \
		run_as "$BOB" init "$tool" create /l c "$NSPID" veth br9000 eth0
	# shellcheck disable=SC2016 # $$: the inner shell's own pid
	step "bob: the host's own namespace (his own pid)" \
		run_as "$BOB" init sh -c 'exec "$0" create /l c $$ veth br9000 eth0' "$tool"
	stop_ns
	printf '%s\n' "$USERNET_GROUP" >"$T/usernet"
	netns_as "$CAROL" init
	step "carol: @group, first of 2" run_as "$CAROL" init "$tool" create /l c "$NSPID" veth br0 eth0
	step "carol: @group, second of 2" run_as "$CAROL" init "$tool" create /l c "$NSPID" veth br0 eth1
	step "carol: @group used up" run_as "$CAROL" init "$tool" create /l c "$NSPID" veth br0 eth2
	stop_ns
	wait_for 50 veth_none_left
	step "veths left after all namespaces ended" sh -c 'ip -o link show type veth | grep -vc nb0'
}

part_differential() {
	local ref=$REFDIR/usr/libexec/lxc/lxc-user-nic rdir=$T/refbin wrap rc label line before
	[ -x "$ref" ] || die "no reference lxc-user-nic at $ref"
	: >"$T/usernet"
	chmod 0644 "$T/usernet"
	use_usernet "$T/usernet"
	# lxc-user-nic keeps its database in /run/lxc: a /run of our own
	mount -t tmpfs -o mode=0755 ontap-run /run
	ONTAP_MOUNTS+=(/run)
	# setuid root only here: a tmpfs of this mount namespace, gone with it
	mkdir -m 0755 "$rdir"
	mount -t tmpfs -o mode=0755 ontap-ref "$rdir"
	ONTAP_MOUNTS+=("$rdir")
	install -o root -g root -m 4755 "$ref" "$rdir/lxc-user-nic"
	log "reference: Debian's lxc-user-nic $(dpkg-deb -f "$(ref_deb)" Version), setuid in this mount namespace only"

	TOOLNAME=ref scenarios "$rdir/lxc-user-nic" >"$T/ref.verdicts"
	TOOLNAME=ontap scenarios "$LUN" >"$T/ontap.verdicts"
	while IFS= read -r line; do
		label=${line%%|*}
		check_eq "same exit status and output: $label" "$line" \
			"$(grep -F -- "$label|" "$T/ontap.verdicts" | head -n 1)"
	done <"$T/ref.verdicts"
	check_eq "as many scenarios" "$(wc -l <"$T/ref.verdicts")" "$(wc -l <"$T/ontap.verdicts")"
	log "stderr, reference:"
	sed 's/^/#   /' "$T/ref.stderr"
	log "stderr, ontap:"
	sed 's/^/#   /' "$T/ontap.stderr"

	log "a namespace root made, holding a process of alice: both refuse; ontap before making anything"
	printf '%s\n' "$USERNET_USERS" >"$T/usernet"
	unshare -n setpriv --reuid "$ALICE" --regid "$(id -gn "$ALICE")" --init-groups sleep 60 &
	wrap=$!
	ONTAP_PIDS+=("$wrap")
	wait_for 20 other_ns "$wrap" || die "no root-made namespace"
	rc=0
	run_as "$ALICE" init "$rdir/lxc-user-nic" create /l c "$wrap" veth br0 eth0 >"$T/x.out" 2>&1 || rc=$?
	check_eq "lxc-user-nic: refused (after making the pair and moving it in)" 1 "$rc"
	# lxc-user-nic deletes the host end by the peer's old name, in the wrong namespace
	log "lxc-user-nic left $(($(ns_links "$wrap") - 1)) link(s) in that namespace besides lo"
	before=$(ns_links "$wrap")
	rc=0
	run_as "$ALICE" init "$LUN" create /l c "$wrap" veth br0 eth0 >"$T/x.out" 2>"$T/x.err" || rc=$?
	check_eq "ontap-lxc-user-nic: refused" 1 "$rc"
	check_has "ontap-lxc-user-nic: refused for the namespace's owner" "belongs to the host" "$(cat "$T/x.err")"
	check_eq "ontap-lxc-user-nic: nothing added to that namespace" "$before" "$(ns_links "$wrap")"
	stop_pid "$wrap"
	forget_pid "$wrap"
	check "no veth left on the host" wait_for 50 veth_none_left

	log "documented difference: an @group line the caller is not in"
	printf '%s\n%s\n' "$USERNET_GROUP" "$USERNET_USERS" >"$T/usernet"
	netns_as "$ALICE" init
	rc=0
	run_as "$ALICE" init "$rdir/lxc-user-nic" create /l c "$NSPID" veth br0 eth0 >"$T/x.out" 2>&1 || rc=$?
	check_eq "lxc-user-nic dies of SIGSEGV (exit 139), making nothing" "139:1" "$rc:$(ns_links "$NSPID")"
	rc=0
	run_as "$ALICE" init "$LUN" create /l c "$NSPID" veth br0 eth0 >"$T/x.out" 2>"$T/x.err" || rc=$?
	check_eq "ontap-lxc-user-nic applies alice's own line" 0 "$rc"
	stop_ns
	check "no veth left at the end" wait_for 50 veth_none_left
}

"part_$PART"
log "broker log: $(grep -c 'kind=veth' "$LOGF") veth records"
finish

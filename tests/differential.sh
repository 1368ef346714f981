#!/bin/bash
# Differential test: every bridge.conf scenario below is run through the real
# qemu-bridge-helper (Debian's, setuid) and through ontap-helper +
# ontap-broker, both called by qemu-call exactly as qemu (or libvirt) would.
# The verdicts must agree, except on rows where the table expects different
# ones: those are ontap's deliberate improvements, each side checked alone.
#
# The reference only reads /etc/qemu/bridge.conf.  The real /etc is never
# written: in our private mount namespace /etc is an overlay (so /etc/qemu
# can exist) and each scenario's directory is bind-mounted on /etc/qemu.
#   usage: differential.sh BUILD_DIR     (as root)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

REF=/usr/lib/qemu/qemu-bridge-helper

[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
require_root
BUILD=$(realpath -e "$1")
if [ ! -x "$REF" ] && [ -z "${ONTAP_TEST_NS:-}" ]; then
	log "installing qemu-system-common for $REF"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-common >&2 ||
		die "cannot install qemu-system-common"
fi
[ -x "$REF" ] || die "missing the reference helper $REF"
enter_test_ns "$@"
init_test_env
# qemu's usual limit; it also bounds the reference's include recursion
ulimit -S -n 1024

stage_binaries "$BUILD"

# Users before the overlay goes on /etc, so they land in the real files and
# the exit trap (which unmounts first) removes them from there.
G1=${ONTAP_TAG}g1 G2=${ONTAP_TAG}g2
ALICE=${ONTAP_TAG}alice BOB=${ONTAP_TAG}bob
add_group "$G1"
add_group "$G2"
add_user "$ALICE" "$G1"
add_user "$BOB"

make_bridge br0 1500 198.18.0.1/24
make_bridge br9000 9000 198.18.1.1/24
make_bridge br-fifteen-chrs 1500 198.18.2.1/24
make_nonbridge nb0

mkdir -m 0755 "$T/etc-upper" "$T/etc-work" "$T/scen"
mount -t overlay ontap-etc -o "lowerdir=/etc,upperdir=$T/etc-upper,workdir=$T/etc-work" /etc
ONTAP_MOUNTS+=(/etc)
mkdir -m 0755 /etc/qemu
ONTAP_CLEANUPS+=("mountpoint -q /etc/qemu && umount /etc/qemu")

# The reference needs its setuid bit, and opens /dev/net/tun as the user
# (it keeps only CAP_NET_ADMIN): both set up in this mount namespace only.
setuid_reference "$REF"
tun_node_0666

# ---- the scenarios ------------------------------------------------------
# @scenario NAME HOW USER GROUPS BRIDGE REF ONTAP MSG
#   HOW qemu|libvirt; USER alice (in G1) | bob (in nothing); GROUPS init
#   (/etc/group), none, or a list set at run time (G2 has no members);
#   REF, ONTAP: allow|deny, different only on deliberate improvements;
#   MSG: rest of line, text both sides must print on refusal, "-" for none.
# @file NAME OWNER:GROUP MODE, then its lines (printf %b: \t \r \x20).
# @like SCENARIO: start from a copy of that scenario's files.
# In table lines @G1 @G2 stand for the test groups.
IFS= read -r -d '' TABLE <<'EOF' || true
@scenario allow-br0 qemu alice init br0 allow allow -
@file bridge.conf root:root 0644
allow br0
@scenario allow-br0-libvirt libvirt alice init br0 allow allow -
@like allow-br0
@scenario allow-br9000-mtu qemu alice init br9000 allow allow -
@file bridge.conf root:root 0644
allow br9000
@scenario empty-main qemu alice init br0 deny deny access denied by acl file
@file bridge.conf root:root 0644
@scenario comments-only qemu alice init br0 deny deny access denied by acl file
@file bridge.conf root:root 0644
# allow br0
   # allow br0
\t#allow br0

@scenario other-bridge-only qemu alice init br0 deny deny access denied by acl file
@file bridge.conf root:root 0644
allow br9000
@scenario allow-all qemu bob none br9000 allow allow -
@file bridge.conf root:root 0644
allow all
@scenario allow-all-deny-br0 qemu alice init br0 deny deny access denied by acl file
@file bridge.conf root:root 0644
allow all
deny br0
@scenario allow-all-deny-br0-other qemu alice init br9000 allow allow -
@like allow-all-deny-br0
@scenario deny-then-allow qemu alice init br0 deny deny access denied by acl file
@file bridge.conf root:root 0644
deny br0
allow br0
@scenario deny-all-allow-br0 qemu alice init br0 deny deny access denied by acl file
@file bridge.conf root:root 0644
deny all
allow br0
@scenario seed-order-include qemu alice init br0 deny deny access denied by acl file
@file bridge.conf root:root 0644
deny all
allow br0
include /etc/qemu/g1.conf
@file g1.conf root:@G1 0640
allow br0
@scenario group-file-member qemu alice init br0 allow allow -
@file bridge.conf root:root 0644
include /etc/qemu/g1.conf
@file g1.conf root:@G1 0640
allow br0
@scenario group-file-nonmember qemu bob init br0 deny deny access denied by acl file
@like group-file-member
@scenario group-file-libvirt libvirt alice init br0 allow allow -
@like group-file-member
@scenario member-other-groups qemu alice @G2 br0 deny allow -
@like group-file-member
@scenario runtime-group qemu bob @G2 br0 allow allow -
@file bridge.conf root:root 0644
include /etc/qemu/g2.conf
@file g2.conf root:@G2 0640
allow br0
@scenario runtime-group-absent qemu bob init br0 deny deny access denied by acl file
@like runtime-group
@scenario runtime-groups-two qemu alice @G1,@G2 br0 allow allow -
@like runtime-group
@scenario group-deny-member qemu alice init br0 deny deny access denied by acl file
@file bridge.conf root:root 0644
allow all
include /etc/qemu/g1deny.conf
@file g1deny.conf root:@G1 0640
deny br0
@scenario group-deny-nonmember qemu bob init br0 allow allow -
@like group-deny-member
@scenario missing-include qemu alice init br0 allow allow -
@file bridge.conf root:root 0644
include /etc/qemu/nonexistent.conf
allow br0
@scenario include-trimmed qemu alice init br0 allow allow -
@file bridge.conf root:root 0644
include \t /etc/qemu/g1.conf \t
@file g1.conf root:@G1 0640
allow br0
@scenario main-unreadable qemu alice init br0 deny deny failed to parse default acl file `/etc/qemu/bridge.conf'
@file bridge.conf root:root 0600
allow br0
@scenario main-missing qemu alice init br0 deny deny failed to parse default acl file `/etc/qemu/bridge.conf'
@file other.conf root:root 0644
allow br0
@scenario unknown-command qemu alice init br0 deny deny Unknown command `permit'
@file bridge.conf root:root 0644
allow br0
permit br0
@scenario no-separator qemu alice init br0 deny deny Invalid config line
@file bridge.conf root:root 0644
allow br0
allowbr0
@scenario long-name-in-acl qemu alice init br0 deny deny too long: 16
@file bridge.conf root:root 0644
allow br0
allow abcdefghijklmnop
@scenario trailing-comment qemu alice init br0 deny deny access denied by acl file
@file bridge.conf root:root 0644
allow br0 # x
@scenario long-trailing-comment qemu alice init br0 deny deny too long: 20
@file bridge.conf root:root 0644
allow br0 # the lab bridge
@scenario tab-separator qemu alice init br0 allow allow -
@file bridge.conf root:root 0644
\t  allow\tbr0
@scenario tab-then-space qemu alice init br0 deny deny Unknown command
@file bridge.conf root:root 0644
allow\tbr0\x20
@scenario spaces-around-arg qemu alice init br0 allow allow -
@file bridge.conf root:root 0644
allow     br0  \t\x20
@scenario crlf qemu alice init br0 allow allow -
@file bridge.conf root:root 0644
# written on windows\r
allow br0\r
@scenario command-case qemu alice init br0 deny deny Unknown command `Allow'
@file bridge.conf root:root 0644
Allow br0
@scenario name-case qemu alice init br0 deny deny access denied by acl file
@file bridge.conf root:root 0644
allow BR0
@scenario empty-argument qemu alice init br0 allow allow -
@file bridge.conf root:root 0644
allow\x20
allow br0
@scenario name-15-bytes qemu alice init br-fifteen-chrs allow allow -
@file bridge.conf root:root 0644
allow br-fifteen-chrs
@scenario bridge-16-bytes qemu alice init abcdefghijklmnop deny deny too long: 16
@file bridge.conf root:root 0644
allow all
@scenario no-such-bridge qemu alice init brnone deny deny -
@like bridge-16-bytes
@scenario not-a-bridge qemu alice init nb0 deny deny -
@like bridge-16-bytes
@scenario error-in-include qemu alice init br0 allow deny -
@file bridge.conf root:root 0644
include /etc/qemu/bad.conf
@file bad.conf root:root 0644
allow br0
frobnicate x
@scenario include-loop qemu alice init br0 allow deny -
@file bridge.conf root:root 0644
allow br0
include /etc/qemu/bridge.conf
@scenario include-directory qemu alice init br0 allow deny -
@file bridge.conf root:root 0644
include /etc/qemu
allow br0
@scenario relative-include qemu alice init br0 deny allow -
@file bridge.conf root:root 0644
include g1.conf
@file g1.conf root:@G1 0640
allow br0
EOF

NAMES=()
declare -A HOW WHO GRP BR WANT_REF WANT_ONTAP MSG
sub() {
	local s=${1//@G1/$G1}
	printf '%s' "${s//@G2/$G2}"
}

# Builds $T/scen/NAME for every scenario and fills the arrays.
parse_table() {
	local line dir="" n=0 name how user groups br ref ontap msg file own mode
	while IFS= read -r line; do
		n=$((n + 1))
		[ "$n" -le 1000 ] || die "scenario table too long"
		case $line in
		'@scenario '*)
			read -r _ name how user groups br ref ontap msg <<<"$line"
			[ -z "${HOW[$name]:-}" ] || die "duplicate scenario $name"
			[[ $how =~ ^(qemu|libvirt)$ && $user =~ ^(alice|bob)$ &&
				$ref =~ ^(allow|deny)$ && $ontap =~ ^(allow|deny)$ ]] ||
				die "bad scenario line: $line"
			NAMES+=("$name")
			HOW[$name]=$how
			if [ "$user" = alice ]; then WHO[$name]=$ALICE; else WHO[$name]=$BOB; fi
			GRP[$name]=$(sub "$groups")
			BR[$name]=$br
			WANT_REF[$name]=$ref
			WANT_ONTAP[$name]=$ontap
			MSG[$name]=$msg
			dir=$T/scen/$name
			mkdir -m 0755 "$dir"
			file=""
			;;
		'@file '*)
			read -r _ file own mode <<<"$line"
			file=$dir/$file
			: >"$file"
			chown "$(sub "$own")" "$file"
			chmod "$mode" "$file"
			;;
		'@like '*)
			read -r _ name <<<"$line"
			[ -d "$T/scen/$name" ] || die "@like: no scenario $name before it"
			cp -a "$T/scen/$name/." "$dir/"
			;;
		*)
			[ -n "$file" ] || die "a line outside any @file: $line"
			printf '%b\n' "$line" >>"$file"
			;;
		esac
	done <<<"$TABLE"
}

# side NAME ref|ontap: runs one side; sets VERDICT, OUTPUT, ERRTEXT
side() {
	local name=$1 helper=$REF opt=() rc=0
	[ "$2" = ontap ] && helper=$HELPER
	[ "${HOW[$name]}" = libvirt ] && opt=(--libvirt)
	run_as "${WHO[$name]}" "${GRP[$name]}" "$QC" "${opt[@]}" "$helper" "${BR[$name]}" \
		>"$T/$name.$2.out" 2>"$T/$name.$2.err" || rc=$?
	OUTPUT=$(cat "$T/$name.$2.out")
	ERRTEXT=$(helper_stderr "$T/$name.$2.err")
	VERDICT=deny
	if [ "$rc" -eq 0 ] && [[ $OUTPUT == tap=* ]]; then VERDICT=allow; fi
}

# what must be the same on both sides: all but the tap name and the random MAC
props() { sed -e 's/^tap=[^ ]* //' -e 's/mac=fe:[0-9a-f:]*/mac=fe:*/' <<<"$1"; }

SOCK=$T/broker.sock
export ONTAP_SOCKET=$SOCK
BASE_TAPS=$(count_taps)
ROWS=()

run_scenario() {
	local name=$1 ref ontap rout oout rerr oerr note
	mount --bind "$T/scen/$name" /etc/qemu
	rm -f "$SOCK"
	# a broker per scenario: it sees the scenario's mounts whatever it unshares
	start_broker "$BUILD" "$SOCK" /etc/qemu/bridge.conf "$T/broker.log"
	side "$name" ref
	ref=$VERDICT rout=$OUTPUT rerr=$ERRTEXT
	wait_for 30 taps_are "$BASE_TAPS" || true
	side "$name" ontap
	ontap=$VERDICT oout=$OUTPUT oerr=$ERRTEXT
	wait_for 30 taps_are "$BASE_TAPS" || true
	stop_pid "$BROKER_PID"
	forget_pid "$BROKER_PID"
	umount /etc/qemu

	check_eq "$name: reference ${WANT_REF[$name]}s" "${WANT_REF[$name]}" "$ref"
	check_eq "$name: ontap ${WANT_ONTAP[$name]}s" "${WANT_ONTAP[$name]}" "$ontap"
	if [ "${WANT_REF[$name]}" = "${WANT_ONTAP[$name]}" ]; then
		note=same
		check_eq "$name: same verdict" "$ref" "$ontap"
	else
		note="improvement (ref ${WANT_REF[$name]}, ontap ${WANT_ONTAP[$name]})"
	fi
	if [ "$ref" = allow ] && [ "$ontap" = allow ]; then
		check_eq "$name: same tap (mtu, mac fe:, up, master, vnet_hdr)" "$(props "$rout")" "$(props "$oout")"
	fi
	if [ "${MSG[$name]}" != - ]; then
		check_has "$name: reference says \"${MSG[$name]}\"" "${MSG[$name]}" "$rerr"
		check_has "$name: ontap says \"${MSG[$name]}\"" "${MSG[$name]}" "$oerr"
	fi
	check_eq "$name: no tap left on either side" "$BASE_TAPS" "$(count_taps)"
	if [ "$ref" != "${WANT_REF[$name]}" ] || [ "$ontap" != "${WANT_ONTAP[$name]}" ]; then
		note="MISMATCH: $note"
	fi
	ROWS+=("$(printf '%-26s %-7s %-16s %-6s %-6s %s' "$name" "${HOW[$name]}" "${BR[$name]}" "$ref" "$ontap" "$note")")
	log "$name: ref: ${rerr:-$rout}"
	log "$name: ontap: ${oerr:-$oout}"
}

parse_table
for name in "${NAMES[@]}"; do
	run_scenario "$name"
done

printf '\n%-26s %-7s %-16s %-6s %-6s %s\n' scenario how bridge ref ontap verdicts
printf '%s\n' "${ROWS[@]}"
echo
finish

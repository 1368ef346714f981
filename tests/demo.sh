#!/bin/bash
# The demo: an unprivileged user boots a VM whose NIC is a tap on a bridge,
# through ontap: qemu runs ontap-helper, which asks ontap-broker for the tap.
# Fresh Debian 12, as root.  Installs what it needs, builds ontap and a small
# guest (a Debian cloud kernel and busybox), then works in a network
# namespace of its own and removes everything it made.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
ns=ontap-demo-$$
user=ontapdemo
made_user=
work=
qemu_pid=
broker_pid=

[ "$(id -u)" -eq 0 ] || { echo "demo: run it as root (it installs packages, makes a namespace and a user)" >&2; exit 1; }

cleanup() {
	set +e
	for pid in $qemu_pid $broker_pid; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null
	[ -z "$made_user" ] || userdel "$user"
	[ -z "$work" ] || rm -rf "$work"
	return 0
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
show() { sed 's/^/    /'; }
# as_user CMD...: CMD in the namespace as the unprivileged user, at most 120 s
as_user() {
	ip netns exec "$ns" setpriv --reuid "$user" --regid "$user" --init-groups -- \
		env -i PATH=/usr/bin:/bin HOME=/nonexistent ONTAP_SOCKET="$work/broker.sock" \
		timeout -k 5 120 "$@"
}
# wait_for SECONDS CMD...: CMD every 0.2 s until it succeeds or time is up
wait_for() {
	local i
	for ((i = 0; i < $1 * 5; i++)); do
		"${@:2}" && return 0
		sleep 0.2
	done
	return 1
}

step "installing what is missing, building ontap and the guest"
bash "$top/tests/deps.sh"
bash "$top/tests/e2e/deps.sh"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
bash "$top/tests/e2e/build-guest.sh" "$build/e2e-guest"

if ! id "$user" >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
	made_user=1
fi
# what the user runs and reads, where the user may read it (build may be under /root)
work=$(mktemp -d /tmp/ontap-demo.XXXXXX)
chmod 0755 "$work"
install -m 0755 "$build/ontap-helper" "$work/ontap-helper"
install -m 0644 "$build/e2e-guest/vmlinuz" "$build/e2e-guest/initrd.gz" "$work/"
install -d -m 0755 -o "$user" "$work/vm"
printf 'allow br0\n' >"$work/bridge.conf"
chown "root:$user" "$work/bridge.conf"
chmod 0640 "$work/bridge.conf"

step "network namespace $ns with bridge br0 (198.18.0.1/24)"
ip netns add "$ns"
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 type bridge
ip -n "$ns" addr add 198.18.0.1/24 dev br0
ip -n "$ns" link set br0 up
ip -n "$ns" -br addr show br0 | show

step "ontap-broker (root, in $ns), acl $work/bridge.conf (root:$user 0640):"
show <"$work/bridge.conf"
ip netns exec "$ns" "$build/ontap-broker" --socket "$work/broker.sock" \
	--acl "$work/bridge.conf" 2>"$work/broker.log" &
broker_pid=$!
wait_for 10 test -S "$work/broker.sock" || { cat "$work/broker.log"; exit 1; }

# vm_argv ACCEL SERIAL KERNEL-ARGS: a small headless VM, the guest's kernel
# and initramfs, its console on a serial port written to a file
vm_argv() {
	vm=(qemu-system-x86_64 -nodefaults -machine pc -accel "$1" -m 256 -smp 1
		-display none -no-reboot -serial "file:$2"
		-kernel "$work/vmlinuz" -initrd "$work/initrd.gz"
		-append "console=ttyS0 quiet panic=-1 ipv6.disable=1 $3")
}
# software emulation (TCG), or KVM if this user may use /dev/kvm and it
# really boots a guest (without ontap.ip= the guest stops at once)
accel=tcg
if as_user sh -c 'test -r /dev/kvm && test -w /dev/kvm' 2>/dev/null; then
	vm_argv kvm "$work/vm/kvm-probe.log" ""
	timeout 20 ip netns exec "$ns" setpriv --reuid "$user" --regid "$user" --init-groups -- \
		"${vm[@]}" >/dev/null 2>&1 || true
	if grep -aq 'ontap-guest: RESULT' "$work/vm/kvm-probe.log" 2>/dev/null; then accel=kvm; fi
fi
vm_argv "$accel" "$work/vm/console.log" \
	"ontap.ip=198.18.0.2/24 ontap.peer=198.18.0.1 ontap.hold=3"
qemu=("${vm[@]}" -netdev "bridge,id=n0,br=br0,helper=$work/ontap-helper"
	-device "virtio-net-pci,netdev=n0,mac=52:54:00:18:00:02")

step "as $user (uid $(id -u "$user"), no privilege): boot a VM whose NIC is on br0"
echo "    $user\$ ${qemu[*]:0:10} ... \\"
echo "        -netdev ${qemu[-3]} \\"
echo "        -device ${qemu[-1]}"
as_user "${qemu[@]}" >"$work/vm/qemu.out" 2>"$work/vm/qemu.err" &
qemu_pid=$!

has_tap() { ip -n "$ns" -o link show master br0 | grep -q ' tap'; }
if wait_for 30 has_tap; then
	echo "the broker made a tap for qemu and put it on br0:"
	ip -n "$ns" -d link show master br0 | grep -E '^[0-9]|link/ether|tun type' | show
else
	echo "no tap on br0 after 30 s; qemu said:"
	show <"$work/vm/qemu.err"
	exit 1
fi

guest_done() { grep -aq 'ontap-guest: RESULT' "$work/vm/console.log" 2>/dev/null; }
wait_for 90 guest_done || true
echo "the guest's serial console:"
grep -a 'ontap-guest:' "$work/vm/console.log" | show
echo "the host side of br0 now knows the guest:"
ip -n "$ns" neigh show 198.18.0.2 | show
rc=0
wait "$qemu_pid" || rc=$?
qemu_pid=
echo "qemu exited $rc after the guest powered off"

step "after qemu exited, the tap is gone:"
ports=$(ip -n "$ns" -br link show master br0)
if [ -n "$ports" ]; then show <<<"$ports"; else echo "    (br0 has no ports)"; fi

step "as $user: br1 is not in the acl, so qemu stops before the guest starts"
ip -n "$ns" link add br1 type bridge
as_user "${qemu[@]/br=br0/br=br1}" >/dev/null 2>"$work/vm/refused.err" || true
show <"$work/vm/refused.err"

step "the broker's log"
kill "$broker_pid"
wait "$broker_pid" || true
broker_pid=
show <"$work/broker.log"

if [ "$rc" -ne 0 ] || ! grep -aq 'ontap-guest: RESULT PASS' "$work/vm/console.log"; then
	echo "demo: the guest did not get through (see above)" >&2
	exit 1
fi

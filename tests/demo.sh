#!/bin/bash
# The demo: an unprivileged user gets a tap on a bridge through ontap.
# Fresh Debian 12, as root.  Installs what it needs, builds, then works in a
# network namespace of its own and removes everything it made.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
ns=ontap-demo-$$
user=ontapdemo
work=

bash "$top/tests/deps.sh"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

cleanup() {
	[ -n "${broker_pid:-}" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null || true
	id "$user" >/dev/null 2>&1 && userdel "$user"
	[ -n "$work" ] && rm -rf "$work"
	return 0
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
work=$(mktemp -d /tmp/ontap-demo.XXXXXX)
chmod 0755 "$work"
printf 'allow br0\n' >"$work/bridge.conf"
chown "root:$user" "$work/bridge.conf"
chmod 0640 "$work/bridge.conf"

step "network namespace $ns with bridge br0 (198.18.0.1/24)"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 type bridge
ip -n "$ns" addr add 198.18.0.1/24 dev br0
ip -n "$ns" link set br0 up
ip -n "$ns" -br link show br0

step "ontap-broker (root, in $ns), acl $work/bridge.conf (root:$user 0640):"
sed 's/^/    /' "$work/bridge.conf"
ip netns exec "$ns" "$build/ontap-broker" --socket "$work/broker.sock" \
	--acl "$work/bridge.conf" 2>"$work/broker.log" &
broker_pid=$!
for _ in $(seq 50); do [ -S "$work/broker.sock" ] && break; sleep 0.1; done

step "as $user: run ontap-helper exactly as qemu does, keep the tap for 2 s"
ip netns exec "$ns" setpriv --reuid "$user" --regid "$user" --init-groups \
	env ONTAP_SOCKET="$work/broker.sock" \
	"$build/tests/qemu-call" --hold 2 "$build/ontap-helper" br0 >"$work/client.out" &
client_pid=$!
sleep 1
echo "the client got: $(cat "$work/client.out")"
echo "the bridge now has:"
ip -n "$ns" -d link show master br0 | head -3 | sed 's/^/    /'
wait "$client_pid"

step "after the client closed the fd, the tap is gone:"
ip -n "$ns" -br link show master br0 | sed 's/^/    /'
[ -z "$(ip -n "$ns" -br link show master br0)" ] && echo "    (no ports)"

step "as $user: br1 is not in the acl"
ip netns exec "$ns" setpriv --reuid "$user" --regid "$user" --init-groups \
	env ONTAP_SOCKET="$work/broker.sock" \
	"$build/tests/qemu-call" "$build/ontap-helper" br1 || echo "    (refused, as it should be)"

step "the broker's log"
kill "$broker_pid"; wait "$broker_pid" || true; broker_pid=
sed 's/^/    /' "$work/broker.log"

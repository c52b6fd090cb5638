#!/bin/sh
# The agent holds no listening TCP or UDP socket, also during an active
# session: not the monitor, the network part, a session worker or anything
# below them, read both from each process's descriptors (root can read them
# although the agent is not dumpable; an unreadable list fails the test) and
# from /proc/net by the network part's uid. The check is shown to work: an
# agent with a listener planted by LD_PRELOAD (tests/harness/plantlisten.c)
# is caught by both readings.
if [ "$(id -u)" != 0 ]; then
	echo "[t090-no-listening-socket] skipped: only root can read a non-dumpable agent's sockets"
	exit 77
fi
. "$(dirname "$0")/lib.sh"

# no_listener WHEN: nothing listens in any agent process, nor as its uid.
no_listener() {
	n=0
	for pid in $(agent_pids); do
		out=$(listening_sockets "$pid")
		[ -z "$out" ] || fail "agent process $pid listens $1: $out"
		n=$((n + 1))
	done
	[ "$n" -ge "$2" ] || fail "only $n agent processes were checked $1, expected $2 or more"
	out=$(listening_by_uid "$(id -u "$E2E_AGENT_USER")")
	[ -z "$out" ] || fail "the agent's user listens $1: $out"
	pass "no listening socket in $n agent processes $1"
}

full_stack 1
no_listener "while idle" 2
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "session active"
no_listener "during a session" 3
kill "$PID_forward" 2>/dev/null || true

# The same check against an agent that does listen.
kill "$PID_agent"
wait_for 20 sh -c "! kill -0 $PID_agent" || fail "the agent did not stop"
PLANT="$TETHER_BIN/../lib/libplantlisten.so"
[ -f "$PLANT" ] || fail "no $PLANT"
bg agent env LD_PRELOAD="$PLANT" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
	tether-agent run --config "$AGENT_DIR/tether-agent.conf"
wait_online 30
wait_for 10 sh -c "pgrep -P $PID_agent -x tether-net >/dev/null" || fail "no network part"
NET=$(pgrep -P "$PID_agent" -x tether-net)
[ "$(stat -c %u "/proc/$NET/status")" = 0 ] || fail "the network part is dumpable"
out=$(listening_sockets "$NET")
expect_contains "$out" "/proc/net/tcp" "the planted listener is found in the non-dumpable network part"
expect_contains "$(listening_sockets "$PID_agent")" "/proc/net/tcp" "and in the monitor"
# A socket the agent's user opens itself is found by its uid alone.
UPORT=$(free_port)
bg planted setpriv --reuid="$E2E_AGENT_USER" --regid="$(id -g "$E2E_AGENT_USER")" --clear-groups \
	socat "TCP-LISTEN:$UPORT,bind=127.0.0.1" /dev/null
wait_port "$UPORT"
out=$(listening_by_uid "$(id -u "$E2E_AGENT_USER")")
expect_contains "$out" "/proc/net/tcp" "a listener of the agent's user is found by its uid"

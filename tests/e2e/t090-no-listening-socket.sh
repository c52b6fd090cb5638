#!/bin/sh
# The agent holds no listening TCP or UDP socket, also during an active session.
. "$(dirname "$0")/lib.sh"

full_stack 1
out=$(listening_sockets "$PID_agent")
[ -z "$out" ] || fail "agent listens while idle: $out"
pass "no listening socket while idle"
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "session active"
for pid in $PID_agent $(pgrep -P "$PID_agent" || true); do
	out=$(listening_sockets "$pid")
	[ -z "$out" ] || fail "agent process $pid listens during a session: $out"
done
pass "no listening socket in the agent or its workers during a session"

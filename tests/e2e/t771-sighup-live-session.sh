#!/bin/sh
# SIGHUP (systemctl reload: the units' ExecReload=) while a session is live:
# the server, the relay and the agent each reload (logged), and the same
# session goes on. The forward started before the reloads fetches the
# device's page again afterwards over the same SSH connection (the relay's
# legs and the agent's session worker survived), and the server still has
# the session active.
. "$(dirname "$0")/lib.sh"

full_stack 1
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "the forward works before the reloads"
SSH_PID=$(pgrep -P "$PID_forward" -x ssh || true)
[ -n "$SSH_PID" ] || fail "no ssh under the forward"

kill -HUP "$PID_server"
wait_log "$WORK/server.log" "reload: policy reloaded"
kill -HUP "$PID_relay_1"
wait_log "$WORK/relay-1.log" "reload: log level from"
kill -HUP "$PID_agent"
wait_log "$WORK/agent.log" "monitor: reload: log level from"
wait_log "$WORK/agent.log" "reload: log level from $AGENT_DIR/tether-agent.conf applied"
for p in "$PID_server" "$PID_relay_1" "$PID_agent" "$PID_forward" "$SSH_PID"; do
	kill -0 "$p" 2>/dev/null || fail "process $p is gone after the reloads"
done
pass "server, relay and agent reloaded; the forward and its ssh are still running"

expect_contains "$(fetch "$LPORT")" "nominal" "the same forward works after the reloads"
[ "$(pgrep -P "$PID_forward" -x ssh || true)" = "$SSH_PID" ] || fail "the ssh connection was replaced"
[ "$(session_state "$SESSION")" = active ] || fail "the session is not active after the reloads: $(session_state "$SESSION")"
grep -q '"action":"session_end"' "$AGENT_DIR/state/audit.log" &&
	fail "the device's trail records a session end during the reloads"
pass "the session survived SIGHUP of every daemon: same ssh connection, still active, no end recorded"

#!/bin/sh
# The operator at the device ends an active session: the tunnel closes, the
# specialist sees why, and the device audit records it.
. "$(dirname "$0")/lib.sh"

full_stack 1
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "session active"
expect_contains "$(agent_consent list)" "active" "the operator sees the session as active"
agent_consent end "$SESSION" >/dev/null || fail "operator could not end the session"
wait_for 20 sh -c "tether --json session status $SESSION | grep -q '\"state\": *\"ended\"'" ||
	fail "session not ended after the operator ended it"
expect_contains "$(tether session status "$SESSION")" "operator" "the specialist sees the operator ended it"
wait_for 20 sh -c "! kill -0 $PID_forward" || fail "tether forward kept running"
pass "tether forward stopped"
out=$(fetch "$LPORT" 2>&1 || true)
expect_not_contains "$out" "nominal" "no more bytes after the operator ended the session"
expect_contains "$(cat "$AGENT_DIR/state/audit.log")" "ended by the operator" "the device audit records the operator's end"

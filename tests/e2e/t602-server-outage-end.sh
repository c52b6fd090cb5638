#!/bin/sh
# A server outage spans a session's end: the operator ends the session at
# the device while the server is down. The agent keeps the end report in
# state_dir and sends it again until the server takes it: afterwards the
# session is ended with the operator's reason, the device is not busy (no
# 409 device_busy until the maximum duration), and both audit trails hold
# the end.
. "$(dirname "$0")/lib.sh"

full_stack 1
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "session active"

kill "$PID_server"
wait_for 20 sh -c "! kill -0 $PID_server 2>/dev/null" || fail "the server did not stop"
pass "the server is down"
agent_consent end "$SESSION" >/dev/null || fail "the operator could not end the session"
wait_for 20 sh -c "grep -q '^$SESSION ended by the operator' '$AGENT_DIR/state/session-ends'" ||
	fail "the end report was not kept in state_dir"
pass "the end report is kept in state_dir/session-ends"
wait_for 20 sh -c "! kill -0 $PID_forward" || fail "tether forward kept running"
pass "the tunnel closed"

bg server-2 tether-server run --dir "$SRV"
PID_server=$PID_server_2
wait_port "$SERVER_PORT"
wait_state "$SESSION" ended 40
# The relay's report of the closed leg may come first; the device's reason,
# which says why, replaces it when its report arrives.
end_reason_is "$SESSION" "ended by the operator"
wait_ends_acked
audit_end_reason "$SESSION" "ended by the operator" "the server's trail has the operator's end"
out=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-602 again\",\"services\":[\"http\"]}")
expect_not_contains "$out" "device_busy" "a new request for the device is accepted"
expect_contains "$out" '"id"' "the new request has an id"
expect_contains "$(agent_audit_detail session_end)" "ended by the operator" \
	"the device audit records the end"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
	fail "device audit chain broken"
tether-server audit verify --dir "$SRV" >/dev/null 2>&1 || fail "server audit chain broken"
pass "both audit chains verify"

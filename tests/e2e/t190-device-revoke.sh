#!/bin/sh
# An administrator revokes a device during an active session: the session
# ends with "device revoked", the tunnel closes, new requests are refused, the
# agent is told why (403 device_revoked) and keeps backing off, and the
# revocation is in the server's audit trail and the device list.
. "$(dirname "$0")/lib.sh"

full_stack 1
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "session active before the revocation"

out=$(tether-server device revoke "$SERIAL" --reason "TCK-190 stolen from ward 3" \
	--dir "$SRV" 2>&1) || fail "device revoke failed: $out"
expect_contains "$out" "revoked" "revoke says the device is revoked"
expect_contains "$out" "1 open session ended" "revoke says it ended the open session"

wait_state "$SESSION" ended
expect_contains "$(tether --json session status "$SESSION")" "device revoked" \
	"the session ended with the reason device revoked"
wait_for 20 sh -c "! kill -0 $PID_forward" || fail "tether forward kept running"
expect_contains "$(cat "$WORK/forward.log")" "session $SESSION ended: device revoked" \
	"the running tether forward says the device was revoked"
out=$(fetch "$LPORT" 2>&1 || true)
expect_not_contains "$out" "nominal" "the device page is no longer reachable through the forward"

if out=$(tether session request "$SERIAL" --reason "TCK-190 again" 2>&1); then
	fail "a session request on a revoked device was accepted: $out"
fi
expect_contains "$out" "revoked" "a new session request is refused"

wait_for 30 grep -q "device_revoked" "$WORK/agent.log" ||
	fail "the agent never logged the 403 device_revoked"
expect_contains "$(cat "$WORK/agent.log")" "403 device_revoked" "the agent logs the server's reason"
expect_contains "$(cat "$WORK/server.log")" "POST /api/v1/ping 403" "the server refuses the device's pings"

# Consent and session-end calls with the device's own certificate are refused too.
out=$(device_api "$AGENT_DIR/state" POST /api/v1/device/session-end \
	"{\"session\":\"$SESSION\",\"reason\":\"x\"}")
expect_contains "$out" "device_revoked" "session-end from a revoked device is refused"

audit=$(tether-server audit list --dir "$SRV")
expect_contains "$audit" "device_revoke" "the server audit has device_revoke"
expect_contains "$audit" "TCK-190 stolen from ward 3" "the audit keeps the reason"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the server audit chain broke"
expect_contains "$(tether devices | grep "$SERIAL")" "revoked" "tether devices shows the device as revoked"
expect_contains "$(tether --json devices | tr -d ' \n')" '"status":"revoked"' \
	"the device object's status is revoked"

out=$(tether-server device revoke "$SERIAL" --reason "again" --dir "$SRV" 2>&1) ||
	fail "revoking again should succeed quietly: $out"
expect_contains "$out" "already revoked" "revoking twice says so"

#!/bin/sh
# A specialist forwards the device's status page through a consented session;
# the bytes arrive, the session ends, and all three audit trails record it.
. "$(dirname "$0")/lib.sh"

full_stack 2
LPORT=$(free_port)
start_forward "$LPORT"

page=$(fetch "$LPORT")
expect_contains "$page" "device $SERIAL status page: all systems nominal" "device page fetched through the tunnel"

state=$(session_state "$SESSION")
[ "$state" = active ] || fail "session state is '$state', expected active"
pass "server reports the session active"

kill "$PID_forward"
wait_for 20 sh -c "tether --json session status $SESSION | grep -q '\"state\": *\"ended\"'" ||
	fail "session did not end after the specialist stopped forwarding"
pass "session ended"

out=$(tether-server audit list --dir "$SRV")
for what in login session_request session_consented session_ticket session_active session_ended; do
	expect_contains "$out" "$what" "server audit records $what"
done
expect_contains "$(tether-server audit verify --dir "$SRV")" "intact" "server audit chain verifies"

relay_out=""
for r in $RELAYS; do relay_out="$relay_out$(cat "$SRV/relays/$r/audit.log" 2>/dev/null)"; done
expect_contains "$relay_out" "$SESSION" "a relay audit log records the session"
for r in $RELAYS; do
	tether-relay audit verify --config "$SRV/relays/$r/tether-relay.conf" >/dev/null ||
		fail "relay $r audit chain does not verify"
done
pass "relay audit chains verify"

agent_log=$(cat "$AGENT_DIR/state/audit.log")
expect_contains "$agent_log" "$SESSION" "the device audit log records the session"
expect_contains "$agent_log" "127.0.0.1:$SERVICE_PORT" "the device audit log records the forwarded service"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
	fail "device audit chain does not verify"
pass "device audit chain verifies"

#!/bin/sh
# The server reconciles at the agent's first ping after a restart: a
# session the server holds as consented, which the device no longer has
# (its answer reached the server, but the agent that gave it is gone), is
# ended "device no longer has it", audited, and the device is free again.
. "$(dirname "$0")/lib.sh"

full_stack 1
sid=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-603\",\"services\":[\"http\"]}" |
	sed -n 's/.*"id": *"\([0-9a-f]*\)".*/\1/p')
[ -n "$sid" ] || fail "no session id"
wait_consent_pending "$sid"
# The device's accept reaches the server, but not this agent (as when it
# dies with the answer in flight).
device_api "$AGENT_DIR/state" POST /api/v1/consent "{\"session\":\"$sid\",\"decision\":\"accept\"}" >/dev/null
wait_state "$sid" consented
kill -KILL "$PID_agent" $(pgrep -P "$PID_agent" -x tether-net)
wait_for 20 sh -c "! kill -0 $PID_agent 2>/dev/null" || fail "the agent did not die"
out=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-603 busy\",\"services\":[\"http\"]}")
# Refused: busy with the consented session, or (the server saw the agent's
# kept connection close) offline first.
case "$out" in
*device_busy*|*device_offline*) pass "before the agent returns a new request is refused" ;;
*) fail "a request before the agent returned was not refused as busy or offline: $out" ;;
esac

bg agent-2 tether-agent run --config "$AGENT_DIR/tether-agent.conf"
PID_agent=$PID_agent_2
wait_state "$sid" ended 30
expect_contains "$(tether session status "$sid")" "device no longer has it" \
	"the session is ended with the reconciliation's reason"
audit_end_reason "$sid" "device no longer has it" "the reconciliation is audited"
out=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-603 again\",\"services\":[\"http\"]}")
expect_not_contains "$out" "device_busy" "a new request for the device is accepted"

#!/bin/sh
# No session without a trail: once the device's audit.log cannot be written
# (here it is replaced by a directory while the agent runs), an active
# session ends at its next record, and a new request is refused with the
# reason, which the specialist reads and the server keeps.
. "$(dirname "$0")/lib.sh"

full_stack 1
LOGF="$AGENT_DIR/state/audit.log"
wait_for 20 grep -q '"action":"agent_start"' "$LOGF" || fail "the agent never opened its trail"

# An active session: the page comes through, one channel per fetch.
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "the session works while the trail does"
active=$SESSION

mv "$LOGF" "$WORK/audit.log.away"
mkdir "$LOGF"
# The next channel's record cannot be written: the worker ends the session.
fetch "$LPORT" >/dev/null 2>&1 || true
wait_for 30 sh -c "tether --json session status $active | grep -q '\"state\": *\"ended\"'" ||
	fail "the active session did not end (it is $(session_state "$active"))"
out=$(tether --json session status "$active")
expect_contains "$out" "device audit trail unavailable" "the active session's end reason names the trail"
if fetch "$LPORT" >/dev/null 2>&1; then fail "the page still comes through after the trail broke"; fi
pass "nothing flows once the trail broke"

# A new request is refused before it reaches the operator.
sid=$(tether session request "$SERIAL" --reason "TCK-11 no trail")
[ -n "$sid" ] || fail "no session id printed"
if out=$(tether session wait "$sid" --timeout 30 2>&1); then
	fail "wait succeeded for a session the device cannot record: $out"
fi
expect_contains "$out" "device audit trail unavailable" "the specialist is told the device has no trail"
expect_contains "$out" "replaced or removed" "and why"
[ "$(session_state "$sid")" = ended ] || fail "state is $(session_state "$sid"), not ended"
expect_not_contains "$(agent_consent list)" "$sid" "the operator is never asked"
expect_contains "$(tether-server audit list --dir "$SRV")" "device audit trail unavailable" \
	"the server's trail keeps the reason"
expect_contains "$(cat "$WORK/agent.log")" "session $sid: refused: device audit trail unavailable" \
	"the agent logs the refusal"

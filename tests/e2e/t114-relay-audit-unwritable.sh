#!/bin/sh
# No pairing without a trail: once the relay's audit.log cannot be written
# (here it is replaced by a directory while the relay runs), the relay
# refuses the legs of a new session with the reason and splices nothing.
. "$(dirname "$0")/lib.sh"

full_stack 1
RLOG="$SRV/relays/relay-1/audit.log"
wait_for 20 grep -q '"action":"relay_start"' "$RLOG" || fail "the relay never opened its trail"
mv "$RLOG" "$WORK/relay-audit.log.away"
mkdir "$RLOG"

sid=$(tether session request "$SERIAL" --reason "TCK-14 relay without trail")
wait_consent_pending "$sid"
agent_consent accept "$sid" >/dev/null 2>&1 || true
wait_for 30 grep -q "refused device leg.*audit_unavailable: relay audit trail unavailable" \
	"$WORK/relay-1.log" || fail "the relay did not refuse the device leg"
pass "the relay refuses the device leg with the reason"
expect_contains "$(cat "$WORK/agent.log")" \
	"relay refused the device leg: ERR audit_unavailable relay audit trail unavailable" \
	"the device is told why"
expect_contains "$(cat "$WORK/relay-1.log")" "replaced or removed" "the relay logs what broke its trail"
wait_for 30 sh -c "tether --json session status $sid | grep -q '\"state\": *\"ended\"'" ||
	fail "the session did not end (it is $(session_state "$sid"))"
expect_not_contains "$(cat "$WORK/relay-1.log")" "splicing" "nothing was spliced"

#!/bin/sh
# No answer from the operator within the consent timeout is a refusal.
. "$(dirname "$0")/lib.sh"

AGENT_CONSENT_TIMEOUT_S=3
full_stack 1
sid=$(tether session request "$SERIAL" --reason "TCK-2 nobody home")
wait_consent_pending "$sid"
if out=$(tether session wait "$sid" --timeout 60 2>&1); then
	fail "wait succeeded without consent: $out"
fi
expect_contains "$out" "no answer" "the specialist is told nobody answered"
[ "$(session_state "$sid")" = expired ] || fail "state is not expired"
pass "session state is expired"
expect_not_contains "$(agent_consent list)" "$sid" "the request left the operator's list"

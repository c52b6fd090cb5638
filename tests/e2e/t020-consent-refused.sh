#!/bin/sh
# The operator refuses: the specialist is told so and no ticket is issued.
. "$(dirname "$0")/lib.sh"

full_stack 1
sid=$(tether session request "$SERIAL" --reason "TCK-1 routine check")
[ -n "$sid" ] || fail "no session id printed"
wait_consent_pending "$sid"
out=$(agent_consent list)
expect_contains "$out" "$SPEC_USER" "the operator sees who asks"
expect_contains "$out" "TCK-1 routine check" "the operator sees the reason"
agent_consent deny "$sid" >/dev/null

if out=$(tether session wait "$sid" --timeout 30 2>&1); then
	fail "wait succeeded for a refused session: $out"
fi
expect_contains "$out" "refused" "the specialist is told the operator refused"
[ "$(session_state "$sid")" = refused ] || fail "state is not refused"
pass "session state is refused"

out=$(api POST "/api/v1/sessions/$sid/connect")
expect_contains "$out" "error" "no client ticket for a refused session"
expect_contains "$(tether-server audit list --dir "$SRV")" "refused" "the refusal is audited"

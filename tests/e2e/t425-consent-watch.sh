#!/bin/sh
# The device's UI learns when a session is active: `tether-agent consent
# watch` streams one JSON line per change on the consent socket (pending,
# active, ended with its reason) and `consent status` lists the active
# sessions. Watchers are bounded.
. "$(dirname "$0")/lib.sh"

full_stack 1
bg watch tether-agent consent watch --config "$AGENT_DIR/tether-agent.conf"
wait_for 10 grep -q '^OK watching' "$WORK/watch.log" || fail "watch did not start: $(cat "$WORK/watch.log")"
pass "watch connected"
expect_contains "$(agent_consent status)" "no active session" "status with nothing active"

# events NAME: the watch's events of this kind for the session $sid.
events() { grep '^{' "$WORK/watch.log" | jq -c --arg e "$1" --arg id "$sid" 'select(.event == $e and .id == $id)'; }

sid=$(tether session request "$SERIAL" --reason "TCK-425 indicator" --service http)
wait_for 20 sh -c "grep -q '\"session_pending\".*$sid' '$WORK/watch.log'" || fail "no session_pending event"
expect_contains "$(events session_pending)" '"reason":"TCK-425 indicator"' "pending request streamed with its reason"
agent_consent accept "$sid" >/dev/null || fail "accept"
wait_for 20 sh -c "grep -q '\"session_active\".*$sid' '$WORK/watch.log'" || fail "no session_active event"
expect_contains "$(events session_active)" '"actions":"forward:http"' "session_active streamed with its actions"
st=$(agent_consent status)
[ "$(printf '%s\n' "$st" | jq -r .id)" = "$sid" ] || fail "status does not list $sid: $st"
pass "status lists the active session"

tether session end "$sid" >/dev/null
wait_for 40 sh -c "grep -q '\"session_ended\".*$sid' '$WORK/watch.log'" || fail "no session_ended event"
expect_contains "$(events session_ended)" '"reason":"ended by the specialist"' "session_ended streamed with its reason"
wait_for 10 sh -c "tether-agent consent status --config '$AGENT_DIR/tether-agent.conf' | grep -q 'no active session'" ||
	fail "status still lists the session"
pass "status empty after the end"

# A refused request ends too, with its reason.
sid=$(tether session request "$SERIAL" --reason "TCK-425 refused" --service http)
wait_consent_pending "$sid"
agent_consent deny "$sid" >/dev/null || fail "deny"
wait_for 10 sh -c "grep -q '\"session_ended\".*$sid' '$WORK/watch.log'" || fail "no session_ended for the refusal"
expect_contains "$(events session_ended)" '"reason":"refused by the operator"' "refusal streamed"

# At most 4 watchers: three more fit, the fifth is turned away.
for n in 2 3 4; do bg "watch$n" tether-agent consent watch --config "$AGENT_DIR/tether-agent.conf"; done
for n in 2 3 4; do
	wait_for 10 grep -q '^OK watching' "$WORK/watch$n.log" || fail "watcher $n refused: $(cat "$WORK/watch$n.log")"
done
if out=$(timeout 10 tether-agent consent watch --config "$AGENT_DIR/tether-agent.conf" 2>&1); then
	fail "a fifth watcher was accepted: $out"
fi
expect_contains "$out" "too many watchers" "the fifth watcher is refused"

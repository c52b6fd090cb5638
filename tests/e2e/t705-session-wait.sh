#!/bin/sh
# A GET of a session with ?wait=S&state=STATE is held by the server until the
# session leaves STATE (issue 12: the CLI heard a consent only at its next
# 1 s poll): a held GET answers with the new state once the operator accepts;
# one whose STATE is not the session's answers at once; `tether session wait`
# uses it. No timing is asserted: a server that did not hold would answer
# "awaiting_consent" before the accept.
. "$(dirname "$0")/lib.sh"

full_stack 1
out=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-705 wait\",\"services\":[\"http\"]}")
sid=$(printf "%s" "$out" | jq -r .id)
[ -n "$sid" ] && [ "$sid" != null ] || fail "no session: $out"
wait_consent_pending "$sid"

out=$(api GET "/api/v1/sessions/$sid?wait=5&state=consented")
[ "$(printf '%s' "$out" | jq -r .state)" = awaiting_consent ] ||
	fail "a wait for another state than the session's was not answered at once: $out"
pass "a wait naming a state the session is not in is answered at once"

api GET "/api/v1/sessions/$sid?wait=25&state=awaiting_consent" >"$WORK/held.json" 2>&1 &
held=$!
# give the GET time to reach the server; held, it has no answer yet
sleep 2
[ -s "$WORK/held.json" ] && fail "the GET was answered before anything changed: $(cat "$WORK/held.json")"
agent_consent accept "$sid" >/dev/null || fail "accept"
# woken by the change, not by its 25 s hold running out
wait_for 15 sh -c "! kill -0 $held" || fail "the held GET was not answered when the session changed"
wait "$held" || fail "the held GET failed: $(cat "$WORK/held.json")"
[ "$(jq -r .state "$WORK/held.json")" = consented ] ||
	fail "the held GET did not answer with the consent: $(cat "$WORK/held.json")"
pass "a held GET answers with the new state once the operator accepts"

# tether session wait returns with the consent (it asks with ?wait=)
tether session wait "$sid" --timeout 10 >"$WORK/wait.out" 2>&1 || fail "session wait: $(cat "$WORK/wait.out")"
pass "tether session wait returns for a consented session"
tether session end "$sid" >/dev/null

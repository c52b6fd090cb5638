#!/bin/sh
# shellcheck disable=SC2154 # PID_<name> variables are set by lib.sh bg() via eval
# The customer controls remote service for its site: switching it off ends
# the active session at once (the tunnel stops) and refuses new requests with
# that reason; "approval all" makes every session wait for the customer.
# Customers act for their own site only; an administrator can end a session.
. "$(dirname "$0")/lib.sh"

full_stack 1
tether-server site add st-other --customer "Other Clinic" --contract-until "$(date_in_days 90)" \
	--dir "$SRV" 2>>"$WORK/init.log" || fail "site add st-other"
add_user approver customer_approver 1 US "$SITE"
add_user stranger customer_approver 1 US st-other
add_user admin1 administrator 1 US
for u in approver stranger admin1; do login_user "$u"; done

# Customers see their own site's devices only.
expect_contains "$(api_as approver GET /api/v1/devices)" "\"serial\":\"$SERIAL\"" \
	"the site's approver sees its device"
expect_not_contains "$(api_as stranger GET /api/v1/devices)" "$SERIAL" \
	"another site's approver does not see it"
expect_contains "$(api_as stranger GET "/api/v1/devices/$SERIAL")" "no_such_device" \
	"nor can it read it by serial"

LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "all systems nominal" "a forward runs"

# Another site's approver cannot switch this site off.
out=$(api_as stranger POST "/api/v1/sites/$SITE/remote" '{"enabled":false,"reason":"not mine"}')
expect_contains "$out" '"error":"forbidden"' "an approver of another site is refused"
audit_has access_denied "\"site\":\"$SITE\"" "the other site's attempt"
[ "$(session_state "$SESSION")" = active ] || fail "the session did not survive the refused switch"

out=$(api_as approver POST "/api/v1/sites/$SITE/remote" '{"enabled":false,"reason":"MRI maintenance"}')
expect_contains "$out" "$SESSION" "switching off names the session it ended"
st=$(tether session status "$SESSION")
expect_contains "$st" "ended" "the session ended at once"
expect_contains "$st" "remote service switched off for site $SITE by approver" "the end reason says who"
wait_for 20 sh -c "! curl -sS --max-time 2 http://127.0.0.1:$LPORT/ >/dev/null 2>&1" ||
	fail "the forward still works after the site was switched off"
pass "the forward stopped working"
wait_for 20 sh -c "! kill -0 $PID_forward" || fail "tether forward kept running"
expect_contains "$(cat "$WORK/forward.log")" \
	"session $SESSION ended: remote service switched off for site $SITE by approver" \
	"the running tether forward says the site switched remote service off"
audit_has site_remote_off '"reason":"MRI maintenance"' "the switch"
audit_has session_ended "switched off for site $SITE" "the ended session"

out=$(tether session request "$SERIAL" --reason "TCK-315" --service http 2>&1) &&
	fail "a session was granted while the site is off: $out"
expect_contains "$out" "remote service is switched off for site $SITE (by approver: MRI maintenance)" \
	"new requests are refused with the reason"

out=$(api_as approver POST "/api/v1/sites/$SITE/remote" '{"enabled":true,"reason":"maintenance done"}')
expect_contains "$out" '"remote_enabled":true' "the approver switches it on again"
audit_has site_remote_on '"reason":"maintenance done"' "switching on"

# Approval for every session.
out=$(api_as approver POST "/api/v1/sites/$SITE/approval" '{"mode":"all"}')
expect_contains "$out" '"approval_mode":"all"' "the approver requires approval for all"
audit_has site_approval_mode '"mode":"all"' "the approval setting"
ID=$(tether session request "$SERIAL" --reason "TCK-315 b" --service http 2>/dev/null) ||
	fail "request under approval all failed"
[ "$(session_state "$ID")" = awaiting_customer ] || fail "the session did not wait for approval"
pass "the session waits for the customer's approval"
tether-server notify list --dir "$SRV" 2>&1 | grep -q approval_requested ||
	fail "no approval_requested queued for the customer"
out=$(api_as stranger POST "/api/v1/approvals/$ID/approve")
expect_contains "$out" '"error":"forbidden"' "an approver of another site cannot approve"
out=$(api_as approver POST "/api/v1/approvals/$ID/approve")
expect_contains "$out" '"state":"awaiting_consent"' "the site's approver approves"
audit_has approval_granted "\"session\":\"$ID\"" "the approval"
[ "$(pending_session_id)" = "$ID" ] || fail "the operator was not asked after the approval"
agent_consent accept "$ID" >/dev/null || fail "operator accept"
wait_state "$ID" consented

# An administrator ends it.
out=$(api_as admin1 POST "/api/v1/sessions/$ID/end")
expect_contains "$out" '"state":"ended"' "an administrator ends the session"
expect_contains "$(tether session status "$ID")" "ended by admin1 (administrator)" \
	"the end reason says who and in which role"
audit_has session_ended "ended by admin1 (administrator)" "the administrator's end"

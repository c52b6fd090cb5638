#!/bin/sh
# shellcheck disable=SC2154 # PID_<name> variables are set by lib.sh bg() via eval
# Region rules from policy.conf: US specialists at any level; Canadian ones
# only at level 3, only as an escalation, only after the site's customer was
# notified and did not refuse within the window; every other region refused.
. "$(dirname "$0")/lib.sh"

AGENT_EXTRA_CONF="diag.status = /bin/true"   # asked for below
full_stack 1
add_user us1 specialist 1 US
add_user ca2 specialist 2 CA
add_user ca3 specialist 3 CA
add_user de3 specialist 3 DE
add_user approver customer_approver 1 US "$SITE"
for u in us1 ca2 ca3 de3 approver; do login_user "$u"; done

req() { api_as "$1" POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-310\"$2}"; }
field() { printf '%s' "$1" | sed -n "s/.*\"$2\": *\"\\([^\"]*\\)\".*/\\1/p"; }

out=$(req us1 ',"actions":["diag:status"]')
expect_contains "$out" '"state":"awaiting_consent"' "a US level 1 specialist may ask"
api_as us1 POST "/api/v1/sessions/$(field "$out" id)/end" >/dev/null

out=$(req ca2 ',"services":["http"],"escalation":true')
expect_contains "$out" "may open sessions only at level 3; you are level 2" "Canada at level 2 refused"
out=$(req ca3 ',"services":["http"]')
expect_contains "$out" "only as an escalation" "Canada at level 3 without escalation refused"
out=$(req de3 ',"services":["http"],"escalation":true')
expect_contains "$out" "does not allow remote sessions from region DE" "another region refused"
audit_has session_denied '"region":"CA"' "the Canadian refusals"
audit_has session_denied 'region DE' "the German refusal"

# The escalation waits for the customer; the device is not asked yet.
out=$(TETHER_HOME="$WORK/home-ca3" tether --json session request "$SERIAL" --reason "TCK-310 esc" \
	--service http --escalation) || fail "escalation request failed: $out"
ID=$(field "$out" id)
expect_contains "$out" '"state": "awaiting_customer"' "the escalation waits for the customer"
expect_contains "$out" '"customer": "notice"' "the customer is notified"
st=$(TETHER_HOME="$WORK/home-ca3" tether session status "$ID")
expect_contains "$st" "awaiting_customer" "session status shows awaiting_customer"
list=$(api_as approver GET /api/v1/approvals)
expect_contains "$list" "\"id\":\"$ID\"" "the approver sees the notice"
expect_contains "$list" '"user_region":"CA"' "the notice says where the specialist is"
expect_contains "$list" '"kind":"notice"' "the notice is a notice"
tether-server notify list --dir "$SRV" 2>&1 | grep -q escalation_notice ||
	fail "no escalation_notice queued for the customer"
pass "escalation_notice queued for the customer"
agent_consent list | grep -q "$ID" && fail "the operator was asked before the customer's window"

out=$(api_as approver POST "/api/v1/approvals/$ID/refuse" '{"reason":"no remote work during surgery"}')
expect_contains "$out" '"state":"refused"' "the customer refuses"
st=$(TETHER_HOME="$WORK/home-ca3" tether session status "$ID")
expect_contains "$st" "no remote work during surgery" "the specialist sees the customer's reason"
printf '%s\n' "$st" | grep -q '^granted  *forward:http$' || fail "status does not list the grant: $st"
pass "session status lists what was granted"
audit_has approval_refused "no remote work during surgery" "the refusal"

# A short window that passes unrefused: the session goes on to the operator.
kill "$PID_server"
wait_for 10 sh -c "! kill -0 $PID_server" || fail "server did not stop"
sed -i 's/^region.CA = .*/region.CA = allow levels=3 escalation notice_s=2/' "$SRV/policy.conf"
tether-server policy check --dir "$SRV" >/dev/null || fail "edited policy refused"
bg server tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
wait_online 40
out=$(req ca3 ',"services":["http"],"escalation":true')
ID=$(field "$out" id)
expect_contains "$out" '"state":"awaiting_customer"' "the second escalation waits"
TETHER_HOME="$WORK/home-ca3" wait_state "$ID" awaiting_consent 20
pass "the notice window passed without a refusal"
[ "$(pending_session_id)" = "$ID" ] || fail "the operator was not asked for $ID"
agent_consent accept "$ID" >/dev/null || fail "operator accept"
LPORT=$(free_port)
forward_session ca3 "$ID" "$LPORT"
expect_contains "$(fetch "$LPORT")" "all systems nominal" "the Canadian escalation works end to end"
expect_contains "$(grep "session $ID" "$AGENT_DIR/state/audit.log")" "actions forward:http " \
	"the device's verified ticket carries exactly the granted forward"
audit_has session_awaiting_consent "did not refuse" "the window's end"
audit_has session_request '"customer":"notice"' "the request"

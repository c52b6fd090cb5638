#!/bin/sh
# shellcheck disable=SC2154 # PID_<name> variables are set by lib.sh bg() via eval
# Session limits from policy.conf: an active session ends at its maximum
# duration (the forward stops): the device ends it at its ticket's end time
# and tells the server, whose own end, a few seconds later, is the backstop
# (unit test_srvsession). The site's customer approver can end a running
# session too; both audited with who and why.
. "$(dirname "$0")/lib.sh"

full_stack 1
add_user approver customer_approver 1 US "$SITE"
login_user approver
kill "$PID_server"
wait_for 10 sh -c "! kill -0 $PID_server" || fail "server did not stop"
sed -i 's/^session.max_duration_s = .*/session.max_duration_s = 10/' "$SRV/policy.conf"
bg server tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
wait_online 40

LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "all systems nominal" "a forward runs"
expect_contains "$(tether --json session status "$SESSION")" '"max_duration_s": 10' \
	"the session was granted the policy's maximum"
wait_state "$SESSION" ended 30
expect_contains "$(tether session status "$SESSION")" "maximum duration reached" \
	"the session ended at the maximum"
wait_for 20 sh -c "! curl -sS --max-time 2 http://127.0.0.1:$LPORT/ >/dev/null 2>&1" ||
	fail "the forward still works after the maximum duration"
pass "the forward stopped"
audit_has session_ended "maximum duration reached" "the end at the maximum"
wait_for 20 sh -c "! kill -0 $PID_forward" || fail "tether forward did not exit"
expect_contains "$(cat "$WORK/forward.log")" "session $SESSION ended: maximum duration reached" \
	"the running tether forward says the maximum duration was reached"

# The customer ends a running session.
sed -i 's/^session.max_duration_s = .*/session.max_duration_s = 600/' "$SRV/policy.conf"
kill "$PID_server"
wait_for 10 sh -c "! kill -0 $PID_server" || fail "server did not stop"
bg server tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
wait_online 40
LPORT=$(free_port)
start_forward "$LPORT"
out=$(api_as approver POST "/api/v1/sessions/$SESSION/end")
expect_contains "$out" '"state":"ended"' "the site's approver ends the session"
expect_contains "$(tether session status "$SESSION")" "ended by approver (customer_approver)" \
	"the end reason names the customer and the role"
wait_for 20 sh -c "! curl -sS --max-time 2 http://127.0.0.1:$LPORT/ >/dev/null 2>&1" ||
	fail "the forward still works after the customer ended it"
pass "the forward stopped"
audit_has session_ended "ended by approver (customer_approver)" "the customer's end"

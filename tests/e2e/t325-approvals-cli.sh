#!/bin/sh
# The customer's side through the real CLI and server: a customer approver
# sets the site to need approval for every session (`tether site approval`),
# is notified (by notify.command) of a specialist's request with who, where,
# why, the deadline and how to refuse, sees it in `tether approvals list`,
# refuses one with a reason the specialist then sees, approves another which
# then reaches the operator, switches remote service off (the approved
# session ends, new requests are refused with the reason, the customer is
# notified) and on again, and sees a Canadian level-3 escalation listed as
# a notice it can refuse.
. "$(dirname "$0")/lib.sh"

full_stack 1
add_user carol customer_approver 1 US "$SITE"
add_user claude specialist 3 CA
login_user carol
login_user claude
as_carol() { TETHER_HOME="$WORK/home-carol" tether "$@"; }
as_claude() { TETHER_HOME="$WORK/home-claude" tether "$@"; }

# Notifications to a command that keeps each body.
NOTES="$WORK/notes"
mkdir -p "$NOTES"
cat >"$WORK/notify-cmd" <<HOOK
#!/bin/sh
cat >"$NOTES/\$TETHER_DELIVERY.\$TETHER_EVENT.json"
HOOK
chmod 755 "$WORK/notify-cmd"
kill "$PID_server"
wait_for 10 sh -c "! kill -0 $PID_server" || fail "server did not stop"
echo "notify.command = $WORK/notify-cmd" >>"$SRV/tether-server.conf"
bg server2 tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
wait_online

# The approver's site, and its approval setting changed through the CLI.
out=$(as_carol site list) || fail "site list: $out"
expect_contains "$out" "$SITE" "site list shows the approver's site"
expect_contains "$out" "St Example Hospital" "site list shows the customer"
out=$(as_carol site approval "$SITE" all) || fail "site approval: $out"
expect_contains "$out" "every session needs your approval" "site approval all"
if out=$(as_carol site approval "$SITE" sometimes 2>&1); then fail "a bad mode was accepted"; fi
expect_contains "$out" "none, escalations or all" "a bad approval mode is a usage error"
expect_contains "$(as_carol --json site list | tr -d ' \n')" '"all"' "site list --json shows the mode"

# A request now waits for the customer, who is told about it.
sid=$(tether --json session request "$SERIAL" --reason "TCK-325 pump alarm" |
	sed -n 's/.*"id": *"\([0-9a-f]*\)".*/\1/p')
[ -n "$sid" ] || fail "no session id"
list=$(as_carol approvals list) || fail "approvals list: $list"
expect_contains "$list" "approval $sid" "the request is listed for the approver"
expect_contains "$list" "who:      $SPEC_USER, level 2, based in US" "the list says who"
expect_contains "$list" "where:    device $SERIAL at site $SITE" "the list says where"
expect_contains "$list" "why:      TCK-325 pump alarm" "the list says why"
expect_contains "$list" "deadline:" "the list says until when"
expect_contains "$list" "tether approvals refuse $sid --reason TEXT" "the list says how to refuse"
expect_contains "$list" "tether approvals approve $sid" "the list says how to approve"
expect_contains "$(as_carol --json approvals list | tr -d ' \n')" "\"id\":\"$sid\"" "approvals list --json"
wait_for 20 sh -c "ls '$NOTES' | grep -q approval_requested" ||
	fail "no approval_requested notification was delivered"
note=$(cat "$NOTES"/*.approval_requested.json)
expect_contains "$note" "\"session\":\"$sid\"" "the notification names the session"
expect_contains "$note" "TCK-325 pump alarm" "the notification says why"
expect_contains "$note" "tether approvals refuse" "the notification says how to refuse"
expect_contains "$note" "\"site\":\"$SITE\"" "the notification names the site"

# Refused with a reason the specialist sees.
if out=$(as_carol approvals refuse "$sid" 2>&1); then fail "refuse without a reason was accepted"; fi
expect_contains "$out" "--reason" "refuse needs a reason"
out=$(as_carol approvals refuse "$sid" --reason "ward in surgery until 18:00") ||
	fail "approvals refuse: $out"
expect_contains "$out" "refused $sid" "the approver refuses"
expect_contains "$(tether --json session status "$sid")" "ward in surgery until 18:00" \
	"the specialist sees the customer's reason"
expect_not_contains "$(as_carol approvals list)" "$sid" "a refused request leaves the list"
if out=$(as_carol approvals approve "$sid" 2>&1); then fail "approving a refused request worked"; fi

# Approved: it goes on to the operator's consent.
sid2=$(tether --json session request "$SERIAL" --reason "TCK-326 pump alarm again" |
	sed -n 's/.*"id": *"\([0-9a-f]*\)".*/\1/p')
[ -n "$sid2" ] || fail "no second session id"
out=$(as_carol --json approvals approve "$sid2") || fail "approvals approve: $out"
expect_contains "$out" '"state": "awaiting_consent"' "approve moves the session on"
wait_consent_pending "$sid2"
pass "the approved request reaches the operator"
agent_consent accept "$sid2" >/dev/null || fail "operator accept"

# Remote service off: the approved session ends at once, new requests are
# refused; then on again.
out=$(as_carol site off "$SITE" --reason "network maintenance") || fail "site off: $out"
expect_contains "$out" "remote service at $SITE is off" "site off"
expect_contains "$out" "1 active session ended" "site off says it ended the open session"
wait_state "$sid2" ended
expect_contains "$(tether --json session status "$sid2")" "network maintenance" \
	"the ended session carries the customer's reason"
expect_contains "$(as_carol site list)" "OFF" "site list shows the switch off"
wait_for 20 sh -c "ls '$NOTES' | grep -q site_remote_off" || fail "no site_remote_off notification"
expect_contains "$(cat "$NOTES"/*.site_remote_off.json)" "network maintenance" \
	"the site_remote_off notification carries the reason"
if out=$(tether session request "$SERIAL" --reason "TCK-328" 2>&1); then
	fail "a request was accepted while remote service is off"
fi
expect_contains "$out" "network maintenance" "a request while off is refused with the reason"
out=$(as_carol site on "$SITE") || fail "site on: $out"
expect_contains "$out" "remote service at $SITE is on" "site on"
wait_for 20 sh -c "ls '$NOTES' | grep -q site_remote_on" || fail "no site_remote_on notification"

# With no approval required, a Canadian level-3 escalation is a notice: it
# goes ahead at its deadline unless the customer refuses it first.
out=$(as_carol site approval "$SITE" none) || fail "site approval none: $out"
expect_contains "$out" "no session needs your approval" "site approval none"
esc=$(as_claude --json session request "$SERIAL" --reason "TCK-327 escalation" --escalation |
	sed -n 's/.*"id": *"\([0-9a-f]*\)".*/\1/p')
[ -n "$esc" ] || fail "the escalation request was not accepted"
list=$(as_carol approvals list)
expect_contains "$list" "notice $esc (escalation)" "the escalation is listed as a notice"
expect_contains "$list" "who:      claude, level 3, based in CA" "the notice says who and where from"
expect_contains "$list" "goes ahead then unless refused" "the notice says what its deadline means"
expect_not_contains "$list" "approvals approve $esc" "a notice offers no approve command"
wait_for 20 sh -c "ls '$NOTES' | grep -q escalation_notice" || fail "no escalation_notice notification"
out=$(as_carol approvals refuse "$esc" --reason "not today") || fail "refuse the notice: $out"
expect_contains "$out" "refused $esc" "the customer refuses the escalation"

audit=$(tether-server audit list --dir "$SRV")
expect_contains "$audit" "approval_refused" "the refusals are audited"
expect_contains "$audit" "approval_granted" "the approval is audited"
expect_contains "$audit" "notify_delivered" "the notifications' delivery is audited"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the audit chain broke"

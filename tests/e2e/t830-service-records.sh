#!/bin/sh
# Service records (issue 9, section 4): one record per session with the
# customer, site, device, specialist, reason, times, outcome and what was
# granted; `tether records list` as a table, CSV (a formula-looking reason
# kept as text) and JSON, with filters; `records show`; every change of a
# record's state reaches the notification outbox as a service_record event
# exactly once, across a server SIGKILL; a customer of another site sees
# none of them.
. "$(dirname "$0")/lib.sh"

NB="$WORK/notes"
notify_capture "$NB"
SERVER_EXTRA_CONF="notify.command = $WORK/notify-cmd
notify.backoff_base_s = 1"
full_stack 1

# A session, start to end; its reason looks like a spreadsheet formula.
REASON='=HYPERLINK("http://x") TCK-830'
SID=$(tether session request "$SERIAL" --reason "$REASON" --service http) ||
	fail "session request: $SID"
wait_consent_pending "$SID"
agent_consent accept "$SID" >/dev/null
wait_for 20 sh -c "tether --json session status $SID | grep -q '\"state\": *\"consented\"'" ||
	fail "the session was not consented"

# The server dies after the consent; nothing is noticed twice after it.
sigkill_wait "$PID_server"
server_restart 2
out=$(tether session end "$SID" 2>&1) || fail "session end: $out"

notices() { grep -l "\"record\":{\"id\":\"$SID\"" "$NB"/*.body 2>/dev/null | wc -l; }
ended_noticed() { grep -l "\"change\":\"ended\"" "$NB"/*.body 2>/dev/null | grep -q .; }
wait_for 30 ended_noticed || fail "no service_record notification for the end"
sleep 2   # a sweep or two more: a duplicate would show now
# Delivery is at least once (docs/protocol.md): one the SIGKILL cut off
# before its success was recorded comes again with the same id. A change
# queued twice would have two ids.
for state in awaiting_consent consented ended; do
	n=$(grep -l "\"change\":\"$state\"" "$NB"/*.body 2>/dev/null | xargs -r grep -l "\"id\":\"$SID\"" |
		xargs -r -n1 jq -r .id | sort -u | wc -l)
	[ "$n" = 1 ] || fail "the $state change was notified under $n ids"
done
expect_contains "$(cat "$NB"/*.body | grep '"change":"ended"')" '"event":"service_record"' \
	"the notification is a service_record event"
expect_contains "$(cat "$NB"/*.body | grep '"change":"ended"')" '"outcome":' "it carries the record"
[ "$(sqlite3 "$SRV/tether.db" "SELECT count(*) FROM record_notices WHERE record = '$SID'")" = 3 ] ||
	fail "record_notices does not hold one row per state"
pass "each change of the record is notified exactly once, across a server SIGKILL ($(notices) notices)"

# The record, as people see it.
rec=$(tether --json records show "$SID") || fail "records show: $rec"
[ "$(printf '%s' "$rec" | jq -r .device)" = "$SERIAL" ] || fail "the record's device: $rec"
[ "$(printf '%s' "$rec" | jq -r .specialist)" = "$SPEC_USER" ] || fail "the record's specialist"
[ "$(printf '%s' "$rec" | jq -r .customer)" = "St Example Hospital" ] || fail "the record's customer"
[ "$(printf '%s' "$rec" | jq -r .reason)" = "$REASON" ] || fail "the record's reason"
[ "$(printf '%s' "$rec" | jq -r .state)" = ended ] || fail "the record's state"
[ "$(printf '%s' "$rec" | jq -r '.ended_at | type')" = number ] || fail "no end time"
[ "$(printf '%s' "$rec" | jq -r '.granted.services[0]')" = http ] || fail "what was granted"
pass "records show gives the customer, device, specialist, reason, times, outcome and grant"

csv=$(tether records list --format csv) || fail "records list --format csv"
expect_contains "$(printf '%s\n' "$csv" | head -1)" '"id","kind","customer","site","device"' \
	"the CSV has a header row"
expect_contains "$csv" "\"'=HYPERLINK(\"\"http://x\"\") TCK-830\"" \
	"a formula-looking reason is kept as text, its quotes doubled"
[ "$(printf '%s\n' "$csv" | wc -l)" = 2 ] || fail "expected one record in the CSV: $csv"
expect_contains "$(tether records list)" "$SID" "the table lists the record"
[ "$(tether --json records list --device SN-NONE | jq '.records | length')" = 0 ] ||
	fail "--device filtered nothing"
[ "$(tether --json records list --since 2000-01-01 --site "$SITE" | jq '.records | length')" = 1 ] ||
	fail "--since and --site lost the record"
[ "$(tether --json records list --until 2000-01-01 | jq '.records | length')" = 0 ] ||
	fail "--until kept a record"
out=$(tether records list --format xml 2>&1) && fail "--format xml was accepted"
expect_contains "$out" "table, csv or json" "a bad format is a usage error"
pass "records list filters and prints a table, CSV and JSON"

# A customer of another site sees none; one of this site sees it.
tether-server site add other-site --customer "Other Hospital" \
	--contract-until "$(date_in_days 365)" --dir "$SRV" >>"$WORK/init.log" 2>&1 || fail "site add"
add_user carol customer_viewer 1 US other-site
login_user carol
[ "$(api_as carol GET /api/v1/records | jq '.records | length')" = 0 ] ||
	fail "a customer of another site sees the record"
[ "$(api_as carol GET "/api/v1/records/$SID" | jq -r .error)" = no_such_record ] ||
	fail "a customer of another site reads the record"
add_user dave customer_viewer 1 US "$SITE"
login_user dave
[ "$(api_as dave GET /api/v1/records | jq '.records | length')" = 1 ] ||
	fail "the site's own customer does not see its record"
pass "a customer sees its own site's records only"

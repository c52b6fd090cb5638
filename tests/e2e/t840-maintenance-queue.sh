#!/bin/sh
# The maintenance queue under the customer's change control (issue 9,
# section 3): `tether queue add` runs a diag.NAME, a collect.NAME and a
# config.NAME (values on stdin) on the device as the support user, released
# signed by the server and carried by the long-poll at once; each end state
# (done, failed, refused_by_device, cancelled, expired, refused_by_customer,
# interrupted) with its record on both sides; a site's approval, its windows
# and its switch hold an activity back; the agent refuses an envelope
# signed by another key or meant for another device, never runs an activity
# twice (a duplicated delivery, a restart after a SIGKILL mid-run or before
# its report), and `consent watch` shows it running.
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/logs" "$D/out"
chmod 755 "$D" "$D/logs"
chmod 777 "$D/out"
printf 'boot ok\n' >"$D/logs/a.log"
printf 'PATIENT Jane Doe\n' >"$D/logs/patient-x.log"
chmod 644 "$D/logs"/*.log
# Each program notes every run in out/runs, to count them.
cat >"$D/selftest" <<SH
#!/bin/sh
echo "selftest \$1 run" >>$D/out/runs
echo "selftest ok as \$(id -un)"
echo "to stderr" >&2
SH
cat >"$D/slow" <<SH
#!/bin/sh
echo "slow \$1 run" >>$D/out/runs
echo started
exec sleep \${1:-30}
SH
cat >"$D/broken" <<SH
#!/bin/sh
echo "this fails"
exit 3
SH
cat >"$D/setconf" <<SH
#!/bin/sh
cat >$D/out/applied
echo "applied \$(wc -l <$D/out/applied) line(s)"
SH
chmod 755 "$D/selftest" "$D/slow" "$D/broken" "$D/setconf"
runs() { grep -c "$1" "$D/out/runs" 2>/dev/null || true; }

SPEC_LEVEL=3
NB="$WORK/notices"
notify_capture "$NB"
SERVER_EXTRA_CONF="notify.command = $WORK/notify-cmd"
deploy 1
AGENT_EXTRA_CONF="diag.selftest = $D/selftest one
diag.slow = $D/slow 30
diag.quick = $D/slow 1
diag.broken = $D/broken
config.pump = $D/setconf
collect.logs = $D/logs/*.log
patient_data.exports = $D/logs/patient-*.log"
agent_setup "$SERIAL"
cli_login
wait_online

bg watch tether-agent consent watch --config "$AGENT_DIR/tether-agent.conf"

# queue add ... prints "  ID  SERIAL  STATE"; the id of the first.
qadd() { tether queue add "$@" | awk 'NR == 2 { print $1 }'; }
state() { tether --json queue show "$1" | jq -r .state; }
wait_state() {
	_want=$2
	_is() { [ "$(state "$1")" = "$_want" ]; }
	wait_for "${3:-30}" _is "$1" ||
		fail "activity $1 is $(state "$1"), not $_want: $(tether queue show "$1" | tail -8)"
}
srv_audit() { tether-server audit list --dir "$SRV"; }

# ---- done: a diagnostic, through the long-poll at once ----
id=$(qadd diag selftest "$SERIAL" --reason "TICKET-100 yearly check") || fail "queue add"
[ -n "$id" ] || fail "queue add printed no id"
wait_state "$id" done 20
show=$(tether queue show "$id")
expect_contains "$show" "selftest ok as support" "the diagnostic ran as the support user"
expect_contains "$show" "to stderr" "its stderr is kept with its stdout"
expect_contains "$show" "exit_code    0" "its exit status is kept"
expect_contains "$show" "TICKET-100 yearly check" "the reason is kept"
[ "$(runs 'selftest one')" = 1 ] || fail "selftest ran $(runs 'selftest one') times"
for a in activity_created activity_released activity_started activity_done; do
	srv_audit | grep "$a" | grep -q "$id" || fail "no server audit $a for $id"
done
grep "activity_start" "$AGENT_DIR/state/audit.log" | grep -q "$id" || fail "no device audit activity_start"
grep "activity_end" "$AGENT_DIR/state/audit.log" | grep "$id" | grep -q done ||
	fail "no device audit activity_end done"
expect_contains "$(cat "$WORK/watch.log")" "activity_started" "consent watch shows the activity start"
expect_contains "$(cat "$WORK/watch.log")" "\"state\":\"done\"" "consent watch shows how it ended"
pass "a queued diagnostic runs as support, its output and exit status kept, audited both sides"

# Its service record, and the CRM's notifications of each change, once each.
rec=$(tether records show "$id")
expect_contains "$rec" "kind         activity" "the activity has a service record"
expect_contains "$rec" "diag:selftest" "the record says what ran"
expect_contains "$(tether records list --format csv)" "$id" "records list has the activity"
noticed() { grep -l "\"change\":\"done\"" "$NB"/*.body 2>/dev/null | xargs -r grep -l "\"id\":\"$id\"" | grep -q .; }
wait_for 20 noticed || fail "no service_record notification of the activity's end"
for st in queued released running done; do
	n=$(grep -l "\"change\":\"$st\"" "$NB"/*.body 2>/dev/null | xargs -r grep -l "\"id\":\"$id\"" | wc -l)
	[ "$n" = 1 ] || fail "$n notifications of $id becoming $st, not 1"
done
pass "the activity's service record is notified once per change"
expect_contains "$(tether devices show "$SERIAL")" "recent activities" "devices show lists activities"
expect_contains "$(tether devices show "$SERIAL" | grep -A3 'recent activities')" "$id  " \
	"devices show names the activity"

# ---- failed ----
id=$(qadd diag broken "$SERIAL" --reason "TICKET-101")
wait_state "$id" failed 20
expect_contains "$(tether queue show "$id")" "exited with status 3" "a failure says its exit status"
pass "a failing program ends failed"

# ---- refused_by_device: not in agent.conf ----
id=$(qadd diag nosuch "$SERIAL" --reason "TICKET-102")
wait_state "$id" refused_by_device 20
expect_contains "$(tether queue show "$id")" "diag.nosuch is not in this device's agent.conf" \
	"the device says why it refused"
grep activity_refused "$AGENT_DIR/state/audit.log" | grep -q "$id" || fail "no device audit of the refusal"
pass "a name the device's agent.conf does not list is refused by the device"

# ---- a config change: the values on stdin ----
printf 'rate_limit = 5\nalarm_volume = 3\n' >"$WORK/values"
id=$(qadd config pump "$SERIAL" --reason "TICKET-103" --values "$WORK/values")
wait_state "$id" done 20
cmp -s "$WORK/values" "$D/out/applied" || fail "the config command got: $(cat "$D/out/applied")"
expect_contains "$(tether queue show "$id")" "applied 2 line(s)" "the config command's output is kept"
pass "a configuration change gets exactly the signed values on its stdin"

# ---- collect: files linked to the activity ----
id=$(qadd collect logs "$SERIAL" --reason "TICKET-104")
wait_state "$id" done 30
linked() { tether --json queue show "$id" | jq -e '.files | length >= 2' >/dev/null; }
wait_for 30 linked || fail "the collected files were not linked: $(tether queue show "$id")"
show=$(tether queue show "$id")
expect_contains "$show" "$D/logs/a.log" "the collected file is listed with the activity"
expect_contains "$show" "patient data" "the patient-data refusal is listed with it"
expect_contains "$show" "1 file(s) kept for the server, 1 refused" "the run's summary is its output"
pass "a queued collection runs, its files linked to the activity"

# ---- cancelled, and retried ----
id=$(qadd diag selftest "$SERIAL" --reason "TICKET-105" --not-before +1h)
wait_state "$id" queued 10
out=$(tether queue cancel "$id" --reason "wrong device" 2>&1) || fail "cancel: $out"
wait_state "$id" cancelled 5
expect_contains "$(tether queue show "$id")" "cancelled by $SPEC_USER: wrong device" "the cancel says who and why"
out=$(tether queue cancel "$id" --reason again 2>&1) && fail "cancelled twice: $out"
expect_contains "$out" "only one that has not started" "a second cancel is refused, saying why"
new=$(tether --json queue retry "$id" | jq -r '.activities[0].id')
wait_state "$new" done 20
[ "$(tether --json queue show "$new" | jq -r .retry_of)" = "$id" ] || fail "the retry does not name $id"
[ "$(runs 'selftest one')" = 2 ] || fail "selftest ran $(runs 'selftest one') times, not 2"
pass "an activity cancelled before it starts never runs; its retry does"

# ---- change control: approval, refusal, expiry ----
add_user approver customer_approver 1 US "$SITE"
login_user approver
as_approver() { TETHER_HOME="$WORK/home-approver" tether "$@"; }
out=$(as_approver site change-control "$SITE" --mode approval --kinds diag,config) ||
	fail "change-control: $out"
expect_contains "$out" "change control approval for diag,config" "the approver sets the site's change control"
srv_audit | grep site_change_control | grep -q approver || fail "the change is not audited"

id=$(qadd diag selftest "$SERIAL" --reason "TICKET-106")
wait_state "$id" awaiting_approval 5
asked_customer() { grep -l '"event":"activity_approval_requested"' "$NB"/*.body 2>/dev/null | xargs -r grep -l "$id" | grep -q .; }
wait_for 20 asked_customer || fail "the customer was not notified that $id waits for approval"
list=$(as_approver approvals list)
expect_contains "$list" "activity $id" "tether approvals lists the activity beside sessions"
expect_contains "$list" "diag selftest" "it says what would run"
as_approver approvals refuse "$id" --reason "not during the audit" >/dev/null || fail "refuse"
wait_state "$id" refused_by_customer 5
expect_contains "$(tether queue show "$id")" "not during the audit" "the refusal's reason is kept"

id=$(qadd diag selftest "$SERIAL" --reason "TICKET-107" --not-after +3s)
wait_state "$id" expired 15
expect_contains "$(tether queue show "$id")" "nobody decided before its not-after" "the expiry says why"

# A collection is not in the kinds needing approval: it goes ahead.
id=$(qadd collect logs "$SERIAL" --reason "TICKET-108")
wait_state "$id" done 30
[ "$(runs 'selftest one')" = 2 ] || fail "a refused or expired activity ran"
pass "approval: refused and expired activities never run; kinds not listed go ahead"

# ---- windows: approved outside one waits, runs when one opens ----
now_h=$(date -u +%H)
far_h=$(( (${now_h#0} + 12) % 24 ))
far=$(printf '%02d:00-%02d:30' "$far_h" "$far_h")
as_approver site change-control "$SITE" --windows "daily $far" --timezone UTC >/dev/null ||
	fail "windows"
id=$(qadd diag selftest "$SERIAL" --reason "TICKET-109")
wait_state "$id" awaiting_approval 5
as_approver approvals approve "$id" >/dev/null || fail "approve"
wait_state "$id" queued 5
sleep 2
wait_state "$id" queued 1
expect_contains "$(tether queue show "$id")" "outside the maintenance window" "it says it waits for a window"
[ "$(runs 'selftest one')" = 2 ] || fail "it ran outside the window"
as_approver site change-control "$SITE" --windows "daily 00:00-24:00" >/dev/null || fail "windows"
wait_state "$id" done 20
expect_contains "$(tether queue show "$id")" "decided_by   approver" "who approved it is kept with it"
pass "an approved activity waits outside the site's windows and runs when one opens"

# ---- a site switched off runs nothing ----
as_approver site change-control "$SITE" --mode none >/dev/null || fail "mode none"
tether-server site set "$SITE" --remote off --reason "ward closed" --dir "$SRV" 2>/dev/null ||
	fail "site off"
id=$(qadd diag selftest "$SERIAL" --reason "TICKET-110")
sleep 2
wait_state "$id" queued 1
expect_contains "$(tether queue show "$id")" "is switched off" "it says the site is off"
tether-server site set "$SITE" --remote on --reason "ward open" --dir "$SRV" 2>/dev/null ||
	fail "site on"
wait_state "$id" done 20
[ "$(runs 'selftest one')" = 4 ] || fail "selftest ran $(runs 'selftest one') times, not 4"
pass "an activity at a site switched off waits until it is on"

# ---- faults: never twice, never lost ----
agent_up() { pgrep -f "tether-agent run --config $AGENT_DIR/tether-agent.conf" >/dev/null; }
agent_kill() {
	pkill -9 -f "tether-agent run --config $AGENT_DIR/tether-agent.conf" || true
	_gone() { ! agent_up; }
	wait_for 10 _gone || fail "the agent did not die on SIGKILL"
}
agent_again() {
	AGENT_RUNS=$(( ${AGENT_RUNS:-1} + 1 ))
	bg "agent-$AGENT_RUNS" tether-agent run --config "$AGENT_DIR/tether-agent.conf"
	eval "PID_agent=\$PID_agent_$AGENT_RUNS"
}

# SIGKILL while it runs: reported interrupted after the restart, not run again.
id=$(qadd diag slow "$SERIAL" --reason "TICKET-111")
wait_state "$id" running 20
wait_for 10 sh -c "grep -q 'slow 30 run' '$D/out/runs'" || fail "slow never started"
agent_kill
agent_again
wait_state "$id" interrupted 30
expect_contains "$(tether queue show "$id")" "the agent stopped while it ran" "interrupted says why"
grep activity_end "$AGENT_DIR/state/audit.log" | grep "$id" | grep -q interrupted ||
	fail "the device did not audit the interruption"
sleep 2
[ "$(runs 'slow 30 run')" = 1 ] || fail "slow ran $(runs 'slow 30 run') times"
pass "an agent killed mid-activity reports it interrupted and does not run it again"

# Its result kept but not yet reported (the server stopped), then a SIGKILL:
# the restarted agent reports it, still once.
id=$(qadd diag quick "$SERIAL" --reason "TICKET-112")
wait_state "$id" running 20
kill -STOP "$PID_server"
ended() { grep activity_end "$AGENT_DIR/state/audit.log" | grep -q "$id"; }
wait_for 20 ended || { kill -CONT "$PID_server"; fail "quick did not end"; }
agent_kill
kill -CONT "$PID_server"
agent_again
wait_state "$id" done 30
[ "$(runs 'slow 1 run')" = 1 ] || fail "quick ran $(runs 'slow 1 run') times"
pass "a result kept before its report survives a SIGKILL and is reported once the agent is back"

# A duplicated delivery (the same id released again) is not run again.
first=$(tether --json queue list --state done | jq -r '[.activities[] | select(.name == "selftest")] | last | .id')
before=$(runs 'selftest one')
sqlite3 "$SRV/tether.db" "UPDATE activities SET state = 'queued', why = '', not_before = 0 WHERE id = '$first';"
redelivered() { srv_audit | grep activity_released | grep -c "$first" | grep -q 2; }
wait_for 10 redelivered || fail "the activity was not released again"
wait_state "$first" done 20
sleep 2
[ "$(runs 'selftest one')" = "$before" ] || fail "a duplicated delivery ran again"
pass "an activity delivered twice runs once; the device repeats its result"

# ---- envelopes the agent refuses ----
b64u() { basenc --base64url | tr -d '=\n'; }
# release SERIAL's queued activity ID with envelope ENV behind the server's
# back (its database), then restart the agent so that its next ping brings it.
plant() {
	_now=$(date +%s)
	sqlite3 "$SRV/tether.db" "UPDATE activities SET state = 'released', envelope = '$2',
		released_at = $_now, envelope_exp = $_now + 3600 WHERE id = '$1';"
	restart_agent
}
# Signed by a key that is not the deployment's.
id=$(qadd diag selftest "$SERIAL" --reason "TICKET-113" --not-before +1h)
now=$(date +%s)
payload=$(printf '{"v":1,"id":"%s","dev":"%s","kind":"diag","name":"selftest","input":"","iat":%s,"exp":%s,"nonce":"%s"}' \
	"$id" "$SERIAL" "$now" $((now + 3600)) "0123456789abcdef0123456789abcdef")
openssl genpkey -algorithm ed25519 -out "$WORK/other.pem" 2>/dev/null || fail "genpkey"
printf 'tether activity v1\n%s' "$payload" >"$WORK/msg"
openssl pkeyutl -sign -inkey "$WORK/other.pem" -rawin -in "$WORK/msg" -out "$WORK/sig" ||
	fail "pkeyutl"
plant "$id" "$(printf '%s' "$payload" | b64u).$(b64u <"$WORK/sig")"
wait_state "$id" refused_by_device 30
expect_contains "$(tether queue show "$id")" "not one this deployment's server signed" \
	"an envelope signed by another key is refused, saying so"

# Signed by the server, but for another device.
tether-server device add SN-0002 --customer "St Example Hospital" --product injector \
	--site "$SITE" --dir "$SRV" >/dev/null 2>>"$WORK/init.log" || fail "device add"
other=$(qadd diag selftest SN-0002 --reason "TICKET-114")
wait_state "$other" released 10
env=$(sqlite3 "$SRV/tether.db" "SELECT envelope FROM activities WHERE id = '$other';")
id=$(qadd diag selftest "$SERIAL" --reason "TICKET-115" --not-before +1h)
plant "$id" "$env"
wait_state "$id" refused_by_device 30
expect_contains "$(tether queue show "$id")" "of device SN-0002, not $id of this one" \
	"an envelope for another device is refused, saying so"
[ "$(runs 'selftest one')" = 4 ] || fail "a refused envelope ran"
grep activity_refused "$AGENT_DIR/state/audit.log" | grep -q "$id" || fail "no device audit"
pass "the device runs only what this deployment's server signed for it"

# ---- a kind the operator must accept first (activity_consent) ----
printf 'activity_consent = config\n' >>"$AGENT_DIR/tether-agent.conf"
restart_agent
bg watch-2 tether-agent consent watch --config "$AGENT_DIR/tether-agent.conf"
printf 'rate_limit = 7\n' >"$WORK/values2"
id=$(qadd config pump "$SERIAL" --reason "TICKET-116" --values "$WORK/values2")
asked() { agent_consent list 2>/dev/null | grep -q "$id"; }
wait_for 20 asked || fail "the operator was not asked: $(agent_consent list 2>&1)"
expect_contains "$(agent_consent list)" "rate_limit = 7" "the operator sees the values it would set"
[ "$(state "$id")" = released ] || fail "it is $(state "$id") while the operator decides"
cmp -s "$WORK/values" "$D/out/applied" || fail "the config ran before the operator accepted"
agent_consent accept "$id" >/dev/null || fail "accept"
wait_state "$id" done 20
cmp -s "$WORK/values2" "$D/out/applied" || fail "the config command got: $(cat "$D/out/applied")"
expect_contains "$(cat "$WORK/watch-2.log")" "activity_request" "consent watch shows the request"
grep activity_consent "$AGENT_DIR/state/audit.log" | grep "$id" | grep -q accept ||
	fail "the operator's decision is not audited"

id=$(qadd config pump "$SERIAL" --reason "TICKET-117" --values "$WORK/values")
wait_for 20 asked || fail "the operator was not asked again"
agent_consent deny "$id" >/dev/null || fail "deny"
wait_state "$id" refused_by_device 20
expect_contains "$(tether queue show "$id")" "the operator at the device refused it" \
	"a refusal at the device says so"
cmp -s "$WORK/values2" "$D/out/applied" || fail "a denied config change ran"
pass "a kind marked activity_consent runs only once the operator accepts it"

# ---- who may do what ----
add_user bob specialist 2
login_user bob
as_bob() { TETHER_HOME="$WORK/home-bob" tether "$@"; }
out=$(as_bob queue retry "$id" 2>&1) && fail "a level 2 specialist retried a config change: $out"
expect_contains "$out" "config:change" "a retry needs the kind's permission, as queue add does"
out=$(as_bob queue add config pump "$SERIAL" --reason x --values "$WORK/values" 2>&1) &&
	fail "a level 2 specialist queued a config change: $out"
expect_contains "$out" "config:change" "queueing a config change needs config:change"
out=$(as_approver queue add diag selftest "$SERIAL" --reason x 2>&1) &&
	fail "a customer approver queued an activity: $out"
expect_contains "$out" "queue:add" "a customer role cannot queue"
out=$(as_approver site change-control "$SITE" 2>&1) && fail "change-control without options: $out"
expect_contains "$out" "needs --mode" "change-control without an option says what it needs"
expect_contains "$(as_approver site list)" "CHANGE CONTROL" "site list shows the change control"
pass "queueing, retrying and change control follow the policy's permissions"

# A list with one unknown serial queues nothing.
before=$(tether --json queue list | jq '.activities | length')
out=$(tether queue add diag selftest "$SERIAL" SN-TYPO --reason "TICKET-118" 2>&1) &&
	fail "a list with an unknown serial was queued: $out"
expect_contains "$out" "no device SN-TYPO; nothing was queued" "an unknown serial is named"
[ "$(tether --json queue list | jq '.activities | length')" = "$before" ] ||
	fail "a failed queue add left activities behind"
pass "a queue add naming an unknown device queues nothing"

#!/bin/sh
# Requests fail fast and say why (issue 11, section 2): the device lists the
# diagnostics and file areas its agent reports; a diagnostic or service it
# does not offer, and a local port already in use, are refused before any
# session exists; under the customer's approval the CLI says it waits for
# the customer; a session the operator ends says so in the CLI; a device
# whose agent is gone is refused at once with when it was last seen.
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/logs"
AGENT_EXTRA_CONF="diag.uptime = /usr/bin/uptime
diag.sleeper = /bin/sleep 30
files.logs = $WORK/logs"
full_stack 1
device_files "$WORK/logs"

requests() { tether-server audit list --dir "$SRV" 2>/dev/null | awk '$4 == "session_request"' | wc -l; }

# What the agent reported, by name.
show=$(tether devices show "$SERIAL")
expect_contains "$show" "services    http" "devices show lists the services"
expect_contains "$show" "diags       uptime, sleeper" "devices show lists the diagnostics"
expect_contains "$show" "files       logs" "devices show lists the file areas"
tether devices show --help | grep -q "devices show DEVICE" || fail "devices show --help"
pass "devices show --help exits 0"

# Not offered: refused at request time, nothing recorded.
before=$(requests)
out=$(tether session request "$SERIAL" --reason "TCK-720 x" --diag nosuch 2>&1) &&
	fail "an unknown diagnostic was accepted: $out"
expect_contains "$out" "offers no diagnostic 'nosuch' (it offers: uptime, sleeper)" \
	"an unknown diagnostic is refused"
out=$(tether session request "$SERIAL" --reason "TCK-720 x" --service nope 2>&1) &&
	fail "an unknown service was accepted: $out"
expect_contains "$out" "does not offer service 'nope' (it offers: http)" \
	"an unknown service is refused"

# A busy local port: refused by the CLI, no request reaches the server.
BUSY=$(free_port)
bg busy socat "TCP-LISTEN:$BUSY,bind=127.0.0.1,reuseaddr,fork" /dev/null
wait_port "$BUSY"
out=$(timeout 20 tether forward "$SERIAL" "$BUSY:http" --reason "TCK-720 busy" 2>&1) &&
	fail "a forward on a busy port was accepted: $out"
expect_contains "$out" "127.0.0.1:$BUSY is already in use" "a busy local port is refused"
[ "$(requests)" = "$before" ] || fail "a refused request left a session at the server"
[ -z "$(agent_consent list | grep -o '[0-9a-f]\{32\}' || true)" ] ||
	fail "a refused request reached the operator"
pass "no session was recorded for any refused request"

# Under the customer's approval the CLI waits for the customer.
tether-server site set "$SITE" --approval all --dir "$SRV" 2>>"$WORK/init.log" ||
	fail "site set --approval all"
setup_askpass
bg wait-customer tether diag "$SERIAL" uptime --reason "TCK-720 approval"
wait_for 10 grep -q "waiting for the customer" "$WORK/wait-customer.log" ||
	fail "no waiting message: $(cat "$WORK/wait-customer.log")"
expect_not_contains "$(cat "$WORK/wait-customer.log")" "waiting for the operator" \
	"the CLI does not say it waits for the operator"
pass "the CLI says it waits for the customer"
sid=$(grep -o '[0-9a-f]\{32\}' "$WORK/wait-customer.log" | head -1)
tether session end "$sid" >/dev/null || fail "session end $sid"
wait_for 10 sh -c "! kill -0 $PID_wait_customer" || fail "the waiting diag did not stop"
expect_contains "$(cat "$WORK/wait-customer.log")" "ended by the specialist" \
	"the waiting CLI says why the session ended"
tether-server site set "$SITE" --approval none --dir "$SRV" 2>>"$WORK/init.log" ||
	fail "site set --approval none"

# The operator ends a running session: the CLI says so.
bg sleeper tether diag "$SERIAL" sleeper --reason "TCK-720 operator end"
SESSION=$(pending_session_id)
agent_consent accept "$SESSION" >"$WORK/accept.log" 2>&1 || fail "accept: $(cat "$WORK/accept.log")"
wait_state "$SESSION" active
agent_consent end "$SESSION" >"$WORK/end.log" 2>&1 || fail "operator end: $(cat "$WORK/end.log")"
wait_for 15 sh -c "! kill -0 $PID_sleeper" || fail "the diag did not stop"
expect_contains "$(cat "$WORK/sleeper.log")" "session $SESSION ended: ended by the operator" \
	"the CLI says the operator ended the session"

# The agent is gone: a request fails at once, saying when it was last seen.
# shellcheck disable=SC2046
kill -9 $(agent_pids) 2>/dev/null || true
wait_for 30 sh -c "tether --json devices | grep -q '\"online\": false'" ||
	fail "the device was not shown offline"
before=$(requests)
out=$(tether session request "$SERIAL" --reason "TCK-720 offline" --diag uptime 2>&1) &&
	fail "a request for an offline device was accepted: $out"
expect_contains "$out" "device $SERIAL is offline (last seen 20" "the refusal says when it was last seen"
[ "$(requests)" = "$before" ] || fail "the offline request left a session"
audit_has session_denied "is offline" "the refusal is in the trail"

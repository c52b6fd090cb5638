#!/bin/sh
# A relay's end report survives a server outage and a relay restart: the
# leg ends while the server is down, the report waits in the relay's spool
# (AUDIT_LOG.reports/), the relay is restarted meanwhile, and the report
# reaches the server once it is back. The server takes a report sent twice
# once (idempotent by the report's id).
. "$(dirname "$0")/lib.sh"

full_stack 1
RDIR="$SRV/relays/relay-1"
SPOOL="$RDIR/audit.log.reports"
relay_ends() {
	tether-server audit list --dir "$SRV" 2>/dev/null | grep relay_event | grep "$SESSION" |
		grep -c '"event":"end"' || true
}

LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "session through relay-1"

# The server goes away; then the specialist's side closes its connection.
kill "$PID_server"
wait_for 15 sh -c "! kill -0 $PID_server 2>/dev/null" || fail "the server did not stop"
kill "$PID_forward"
wait_for 20 sh -c "grep -q '\"action\":\"session_end\"' '$RDIR/audit.log'" ||
	fail "the relay did not record the session's end"
wait_for 20 sh -c "grep -l '\"event\":\"end\"' '$SPOOL'/*.report | grep -q ." ||
	fail "the end report is not in the relay's spool: $(ls -la "$SPOOL" 2>&1)"
cp "$(grep -l '"event":"end"' "$SPOOL"/*.report | head -1)" "$WORK/end.report"
pass "the end report waits on disk while the server is down"

# The relay restarts meanwhile; the spooled report is kept across it.
kill "$PID_relay_1"
wait_for 15 sh -c "! kill -0 $PID_relay_1 2>/dev/null" || fail "relay-1 did not stop"
bg relay-1b tether-relay run --config "$RDIR/tether-relay.conf"
wait_port "$RELAY_1_DEVICE_PORT"
expect_contains "$(cat "$WORK/relay-1b.log")" "from an earlier run" "the restarted relay found the spooled report"

bg server-2 tether-server run --dir "$SRV"
PID_server=$PID_server_2
wait_port "$SERVER_PORT"
wait_for 30 sh -c "[ \"\$(tether-server audit list --dir '$SRV' 2>/dev/null | grep relay_event |
	grep '$SESSION' | grep -c '\"event\":\"end\"')\" -ge 1 ]" ||
	fail "the relay's end report never reached the server"
pass "the end report reached the server after its return"
# The session is a visit (issue 11): the relay's report of its connection's
# close is a record, not the session's end, which the specialist's CLI could
# not send while the server was down. The specialist ends it now.
[ "$(session_state "$SESSION")" = active ] || fail "the relay's report ended the visit"
tether session end "$SESSION" >/dev/null 2>&1 || fail "session end"
wait_state "$SESSION" ended
wait_for 20 sh -c "! ls '$SPOOL'/*.report >/dev/null 2>&1" || fail "the delivered report stayed in the spool"
pass "the acknowledged report left the spool"

# The same report again (as after a lost acknowledgement): taken once.
out=$(curl -sS --cacert "$SRV/ca/root.crt" --cert "$RDIR/relay.crt" --key "$RDIR/relay.key" \
	-H 'Content-Type: application/json' --data-binary "@$WORK/end.report" \
	"https://127.0.0.1:$SERVER_PORT/api/v1/relay/event")
expect_contains "$out" '"duplicate":true' "a report sent again is acknowledged as a duplicate"
[ "$(relay_ends)" -eq 1 ] || fail "the end report was audited $(relay_ends) times"
pass "the end report is audited once"
expect_contains "$(tether-server audit verify --dir "$SRV")" "intact" "server audit chain verifies"
tether-relay audit verify --config "$RDIR/tether-relay.conf" >/dev/null || fail "relay audit chain does not verify"

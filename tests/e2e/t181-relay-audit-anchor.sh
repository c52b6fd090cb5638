#!/bin/sh
# The server anchors each relay's audit head from its session events. Cutting
# the newest records of a stopped relay's audit log leaves a chain that still
# verifies on the relay, but at the next event of the restarted relay the
# server sees that the log it opened was behind the anchor, and audits
# relay_audit_rollback (once).
. "$(dirname "$0")/lib.sh"

full_stack 1
RCONF="$SRV/relays/relay-1/tether-relay.conf"
RLOG="$SRV/relays/relay-1/audit.log"

# seq of the relay's newest record of action $1
rec_seq() { grep "\"action\":\"$1\"" "$RLOG" | tail -1 | sed -n 's/^{"seq":\([0-9]*\),.*/\1/p'; }
anchor_seq() {
	tether-server audit relay relay-1 --dir "$SRV" --json | tr -d ' \n' |
		sed -n 's/.*"audit_head":{"seq":\([0-9]*\),.*/\1/p'
}
rollbacks() { tether-server audit list --dir "$SRV" | grep -c "relay_audit_rollback.*relay-1" || true; }

# One session through the relay: it reports start and end with its head.
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "first session active"
kill "$PID_forward"
wait_state "$SESSION" ended
wait_for 20 sh -c "grep -q '\"action\":\"session_end\"' '$RLOG'" || fail "the relay did not record session_end"
end_seq=$(rec_seq session_end)
wait_for 20 sh -c "[ \"\$(tether-server audit relay relay-1 --dir '$SRV' --json | tr -d ' \n' |
	sed -n 's/.*\"audit_head\":{\"seq\":\([0-9]*\),.*/\1/p')\" = '$end_seq' ]" ||
	fail "the server's relay anchor ($(anchor_seq)) never reached the session_end record ($end_seq)"
pass "the server anchors the relay's audit head (seq $end_seq)"
tether-server audit relay relay-1 --dir "$SRV" >/dev/null || fail "audit relay should exit 0 before tampering"
[ "$(rollbacks)" -eq 0 ] || fail "rollback audited before any tampering"

# Stop the relay (it records relay_stop), then cut its two newest records:
# relay_stop, which the server never saw, and one it had anchored.
kill "$PID_relay_1"
wait_for 20 sh -c "tail -1 '$RLOG' | grep -q relay_stop" || fail "the relay did not stop"
wait "$PID_relay_1" 2>/dev/null || true
head -n -2 "$RLOG" >"$WORK/cut.log"
cat "$WORK/cut.log" >"$RLOG"
out=$(tether-relay audit verify --config "$RCONF" 2>&1) ||
	fail "the truncated chain should still verify on its own: $out"
pass "the relay alone cannot tell that records went missing"

# Restart it and drive a second session: its records soon pass the anchor's
# seq, but the head the relay opened is reported with every event.
bg relay-1b tether-relay run --config "$RCONF"
wait_port "$RELAY_1_DEVICE_PORT"
wait_relay_up relay-1
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "second session active through the restarted relay"
wait_for 30 sh -c "tether-server audit list --dir '$SRV' | grep -q 'relay_audit_rollback.*relay-1'" ||
	fail "the server did not audit relay_audit_rollback for relay-1"
pass "the server audits the relay's rollback"
expect_contains "$(cat "$WORK/server.log")" "relay relay-1: audit log rolled back" "the server logs a warning"
out=$(tether-server audit relay relay-1 --dir "$SRV") && fail "audit relay should exit 1 after a rollback"
expect_contains "$out" "audit rollback seq" "audit relay shows the rollback"

# The end event of the same run is not audited again; the anchor follows the
# relay's new records.
kill "$PID_forward"
wait_state "$SESSION" ended
wait_for 20 sh -c "[ \$(grep -c '\"action\":\"session_end\"' '$RLOG') -ge 1 ]" || fail "no session_end"
end_seq=$(rec_seq session_end)
wait_for 20 sh -c "[ \"\$(tether-server audit relay relay-1 --dir '$SRV' --json | tr -d ' \n' |
	sed -n 's/.*\"audit_head\":{\"seq\":\([0-9]*\),.*/\1/p')\" = '$end_seq' ]" ||
	fail "the anchor ($(anchor_seq)) did not follow the restarted relay ($end_seq)"
[ "$(rollbacks)" -eq 1 ] || fail "the rollback was audited $(rollbacks) times, not once"
pass "one audit record for one rollback; the anchor follows the relay (seq $end_seq)"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the server audit chain broke"

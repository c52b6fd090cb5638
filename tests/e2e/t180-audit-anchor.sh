#!/bin/sh
# The server anchors each device's audit head from its pings. Removing the
# newest records of the device's audit log leaves a chain that still verifies
# on the device, but the server sees the head go back and audits
# device_audit_rollback (once); the agent carries on from the shorter chain.
. "$(dirname "$0")/lib.sh"

# Short polls every second, so the server learns each new head quickly; a
# long-poll reports it at the next ping, the same way, only later.
AGENT_LONGPOLL=no
AGENT_POLL_INTERVAL_S=1
full_stack 1
CONF="$AGENT_DIR/tether-agent.conf"
LOGF="$AGENT_DIR/state/audit.log"

# head_seq: the seq of the newest record in the device's log.
head_seq() { tail -1 "$LOGF" | sed -n 's/^{"seq":\([0-9]*\),.*/\1/p'; }
# anchor_seq: the server's anchor for the device.
anchor_seq() {
	api GET "/api/v1/devices/$SERIAL" | tr -d ' \n' |
		sed -n 's/.*"audit_head":{"seq":\([0-9]*\),.*/\1/p'
}
anchor_reached() { [ -n "$(anchor_seq)" ] && [ "$(anchor_seq)" = "$(head_seq)" ]; }
rollbacks() { tether-server audit list --dir "$SRV" | grep -c "device_audit_rollback.*$SERIAL" || true; }
pings() { grep -c 'POST /api/v1/ping 200' "$WORK/server.log" || true; }

# A refused request gives the device log a few more records.
sid=$(tether session request "$SERIAL" --reason "TCK-18 anchor")
wait_consent_pending "$sid"
agent_consent deny "$sid" >/dev/null
wait_for 30 anchor_reached ||
	fail "the server's anchor ($(anchor_seq)) never reached the device head ($(head_seq))"
pass "the server anchors the device's audit head (seq $(head_seq))"
[ "$(rollbacks)" -eq 0 ] || fail "rollback audited before any tampering"

# Stop the agent (it records agent_stop), then drop the two newest records:
# one the server has seen, one it has not.
anchored=$(anchor_seq)
kill "$PID_agent"
wait_for 20 sh -c "tail -1 '$LOGF' | grep -q agent_stop" || fail "the agent did not stop"
wait "$PID_agent" 2>/dev/null || true
before=$(head_seq)
head -n -2 "$LOGF" >"$WORK/cut.log"
cat "$WORK/cut.log" >"$LOGF"
out=$(tether-agent audit verify --config "$CONF" 2>&1) ||
	fail "the truncated chain should still verify on its own: $out"
expect_contains "$out" "chain intact" "the device alone cannot tell that records went missing"
log "device head went from $before to $(head_seq)"

# The agent starts on the shorter chain and reports its head.
bg agent2 tether-agent run --config "$CONF"
wait_for 30 sh -c "[ \"\$(tether-server audit list --dir '$SRV' | grep -c 'device_audit_rollback.*$SERIAL')\" -ge 1 ]" ||
	fail "the server did not audit device_audit_rollback for $SERIAL"
pass "the server audits the rollback"
expect_contains "$(cat "$WORK/server.log")" "audit log rolled back" "the server logs a warning"
out=$(tether-server audit device "$SERIAL" --dir "$SRV") && fail "audit device should exit 1 after a rollback"
expect_contains "$out" "audit rollback seq" "audit device shows the rollback"
expect_contains "$(api GET "/api/v1/devices/$SERIAL" | tr -d ' \n')" '"audit_rollback":{"seq"' \
	"the device object shows the rollback"
[ "$(anchor_seq)" = "$anchored" ] || fail "the anchor moved from $anchored to $(anchor_seq)"
pass "the anchor is kept (seq $(anchor_seq))"

# Later pings with the same head are not audited again.
n=$(pings)
wait_for 30 sh -c "[ \$(grep -c 'POST /api/v1/ping 200' '$WORK/server.log') -ge $((n + 3)) ]" ||
	fail "the agent stopped pinging after the truncation"
[ "$(rollbacks)" -eq 1 ] || fail "the rollback was audited $(rollbacks) times, not once"
pass "one audit record for one rollback"

# The agent keeps working: it appended from the truncated head, its chain
# verifies, and a new request reaches the operator.
sid=$(tether session request "$SERIAL" --reason "TCK-18 after truncation")
wait_consent_pending "$sid"
agent_consent deny "$sid" >/dev/null
tether-agent audit verify --config "$CONF" >/dev/null 2>&1 || fail "the chain broke after restart"
wait_for 30 anchor_reached || fail "the anchor did not follow the device after the rollback"
pass "the agent keeps working after a truncation"

#!/bin/sh
# A power cut during an append leaves half a line at the end of the audit
# log. `audit verify` reports it; at the next start the agent (and the
# relay) cut it off, record audit_recovered with what was dropped, verify
# again, and serve sessions.
. "$(dirname "$0")/lib.sh"

full_stack 1
ACONF="$AGENT_DIR/tether-agent.conf"
LOGF="$AGENT_DIR/state/audit.log"
RCONF="$SRV/relays/relay-1/tether-relay.conf"
RLOG="$SRV/relays/relay-1/audit.log"
TORN='{"seq":99,"ts":"2026-11-27T1'
TORN_SHA=$(printf '%s' "$TORN" | sha256sum | cut -d' ' -f1)
TORN_LEN=$(printf '%s' "$TORN" | wc -c)

# stop PID: SIGTERM, then until it is gone
stop() {
	kill "$1"
	wait_for 20 sh -c "! kill -0 $1" || fail "process $1 did not stop"
}

# check_recovered FILE LASTSEQ WHAT: FILE's audit_recovered record names the
# dropped bytes, their hash and the record they followed.
check_recovered() {
	d=$(jq -r 'select(.action == "audit_recovered") | .detail' "$1")
	[ -n "$d" ] || fail "$3: no audit_recovered record"
	[ "$(printf '%s' "$d" | jq -r .dropped_bytes)" = "$TORN_LEN" ] || fail "$3: dropped_bytes in $d"
	[ "$(printf '%s' "$d" | jq -r .dropped_sha256)" = "$TORN_SHA" ] || fail "$3: dropped_sha256 in $d"
	[ "$(printf '%s' "$d" | jq -r .after_seq)" = "$2" ] || fail "$3: after_seq in $d (want $2)"
	pass "$3: audit_recovered says what was dropped ($d)"
}

# The device.
wait_for 20 grep -q '"action":"agent_start"' "$LOGF" || fail "the agent never opened its trail"
stop "$PID_agent"
last=$(tail -1 "$LOGF" | jq -r .seq)
printf '%s' "$TORN" >>"$LOGF"
out=$(tether-agent audit verify --config "$ACONF" 2>&1) && fail "a torn line verifies: $out"
expect_contains "$out" "incomplete" "agent: audit verify reports the torn line"
bg agent-2 tether-agent run --config "$ACONF"
wait_for 20 grep -q '"action":"audit_recovered"' "$LOGF" || fail "the agent did not recover its trail"
check_recovered "$LOGF" "$last" "agent"
out=$(tether-agent audit verify --config "$ACONF" 2>&1) || fail "agent chain does not verify after recovery: $out"
pass "agent: the chain verifies after recovery"
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "agent: sessions work after recovery"
stop "$PID_forward"
wait_state "$SESSION" ended

# The relay.
wait_for 20 sh -c "grep -q '\"action\":\"session_end\"' '$RLOG'" || fail "the relay did not record session_end"
stop "$PID_relay_1"
last=$(tail -1 "$RLOG" | jq -r .seq)
printf '%s' "$TORN" >>"$RLOG"
out=$(tether-relay audit verify --config "$RCONF" 2>&1) && fail "a torn relay line verifies: $out"
expect_contains "$out" "incomplete" "relay: audit verify reports the torn line"
bg relay-1b tether-relay run --config "$RCONF"
wait_port "$RELAY_1_DEVICE_PORT"
check_recovered "$RLOG" "$last" "relay"
out=$(tether-relay audit verify --config "$RCONF" 2>&1) || fail "relay chain does not verify after recovery: $out"
pass "relay: the chain verifies after recovery"
# The server's health checker may have seen the relay down meanwhile; a
# session is given to it again once a check finds it up.
wait_relay_up relay-1
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "relay: sessions work after recovery"

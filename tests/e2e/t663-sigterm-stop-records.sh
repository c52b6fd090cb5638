#!/bin/sh
# SIGTERM stops each daemon cleanly with its stop record while a session is
# live: the relay ends the session's legs with a session_end record and
# writes relay_stop; the agent's network part ends its sessions, audits
# agent_stop and the monitor removes the consent socket; the server writes
# `stop` naming the sessions still open (their bytes run through relay and
# agent, so the server does not end them itself).
. "$(dirname "$0")/lib.sh"

full_stack 1
RLOG="$SRV/relays/relay-1/audit.log"
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "the session carries the device page"

# --- the server first: the session stays live through the relay
kill -TERM "$PID_server"
wait_for 20 sh -c "! kill -0 $PID_server" || fail "the server did not stop on SIGTERM"
wait "$PID_server" 2>/dev/null && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "the server exited $rc on SIGTERM"
audit_has stop "$SESSION" "the server's stop record names the open session"
expect_contains "$(fetch "$LPORT")" "nominal" "the session still carries bytes with the server down"
bg server-2 tether-server run --dir "$SRV"
PID_server=$PID_server_2
wait_port "$SERVER_PORT"

# --- the relay: ends the legs with records
kill -TERM "$PID_relay_1"
wait_for 20 sh -c "! kill -0 $PID_relay_1" || fail "the relay did not stop on SIGTERM"
wait "$PID_relay_1" 2>/dev/null && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "the relay exited $rc on SIGTERM"
grep '"action":"session_end"' "$RLOG" | grep -q "$SESSION" ||
	fail "no session_end record for $SESSION in the relay's trail"
grep '"action":"session_end"' "$RLOG" | grep "$SESSION" | grep -q "relay shutting down" ||
	fail "the relay's session_end does not say why"
pass "the relay ended the live session with a record"
tail -1 "$RLOG" | grep -q '"action":"relay_stop"' || fail "the relay's last record is not relay_stop"
pass "the relay's last record is relay_stop"
wait_state "$SESSION" ended 30

# --- the agent, with a request waiting at the operator's screen
bg relay-1b tether-relay run --config "$SRV/relays/relay-1/tether-relay.conf"
wait_port "$RELAY_1_DEVICE_PORT"
kill -TERM "$PID_agent"
wait_for 30 sh -c "! kill -0 $PID_agent" || fail "the agent did not stop on SIGTERM"
wait "$PID_agent" 2>/dev/null && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "the agent exited $rc on SIGTERM"
tail -1 "$AGENT_DIR/state/audit.log" | grep -q '"action":"agent_stop"' ||
	fail "the device's last record is not agent_stop"
[ ! -e "$AGENT_DIR/consent.sock" ] || fail "the consent socket was left behind"
pass "the agent stopped with agent_stop and removed its consent socket"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
	fail "the device's chain does not verify"
tether-relay audit verify --config "$SRV/relays/relay-1/tether-relay.conf" >/dev/null ||
	fail "the relay's chain does not verify"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the server's chain does not verify"
pass "all three trails verify"

#!/bin/sh
# SIGKILL of a relay under load (a forwarded session carrying traffic): the
# relay's audit chain verifies, the server keeps what the relay reported
# before, the session is ended rather than left active, and recovery needs no
# help: restarted, the relay is seen up and a new session works.
. "$(dirname "$0")/lib.sh"

full_stack 1
RDIR="$SRV/relays/relay-1"
LPORT=$(free_port)
start_forward "$LPORT"
FIRST=$SESSION
load_start "$LPORT"
sleep 2
tether-server audit list --dir "$SRV" | grep relay_event | grep "$FIRST" | grep -q '"event":"start"' ||
	fail "the relay's start report was not acknowledged before the kill"
tether-server audit list --dir "$SRV" >"$WORK/audit.before"

kill -9 "$PID_relay_1"
wait_for 10 sh -c "! kill -0 $PID_relay_1 2>/dev/null" || fail "the relay did not die"
load_stop
tether-relay audit verify --config "$RDIR/tether-relay.conf" >/dev/null ||
	fail "the relay's audit chain does not verify after SIGKILL"
pass "the relay's audit chain verifies after SIGKILL"
# The device's leg broke: the agent ends the session, so the device is free.
wait_state "$FIRST" ended 30
audit_prefix_kept "$WORK/audit.before"

bg relay-1b tether-relay run --config "$RDIR/tether-relay.conf"
wait_port "$RELAY_1_DEVICE_PORT"
wait_relay_up relay-1
kill "$PID_forward" 2>/dev/null || true
LPORT2=$(free_port)
start_forward "$LPORT2"
expect_contains "$(fetch "$LPORT2")" "nominal" "a new session works after the relay's SIGKILL"
tether-relay audit verify --config "$RDIR/tether-relay.conf" >/dev/null ||
	fail "the relay's audit chain does not verify after the restart"
expect_contains "$(tether-server audit verify --dir "$SRV")" "intact" "server audit chain verifies"

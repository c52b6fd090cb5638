#!/bin/sh
# With one relay down, the next session goes through the other.
. "$(dirname "$0")/lib.sh"

full_stack 2
kill "$PID_relay_1"
wait_for 10 sh -c "! kill -0 $PID_relay_1" || fail "relay-1 did not stop"
# The server's background health check notices; consent then only reads that.
wait_relay_down relay-1
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "device page fetched with relay-1 down"
expect_contains "$(tether --json session status "$SESSION")" "relay-2" "the session went through relay-2"
expect_contains "$(cat "$WORK/server.log")" "relay relay-1 (127.0.0.1:$RELAY_1_DEVICE_PORT) skipped" \
	"the pick at consent skipped relay-1 from its recorded state"

#!/bin/sh
# With one relay down, the next session goes through the other.
. "$(dirname "$0")/lib.sh"

full_stack 2
kill "$PID_relay_1"
wait_for 10 sh -c "! kill -0 $PID_relay_1" || fail "relay-1 did not stop"
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "device page fetched with relay-1 down"
expect_contains "$(tether --json session status "$SESSION")" "relay-2" "the session went through relay-2"

#!/bin/sh
# A frozen relay (SIGSTOP: its kernel still completes TCP connects, its event
# loop answers nothing) is seen down by the server's application-level health
# check, the next session works through relay-2, and after SIGCONT relay-1 is
# up again.
. "$(dirname "$0")/lib.sh"

full_stack 2
kill -STOP "$PID_relay_1"
# A bare TCP probe would still succeed here; the health question does not.
wait_relay_down relay-1
expect_contains "$(grep -E 'relay relay-1 \(.*\) is down' "$WORK/server.log" | tail -1)" \
	"no answer within" "the server marked the frozen relay-1 down: its loop gave no answer"

LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "device page fetched with relay-1 frozen"
expect_contains "$(tether --json session status "$SESSION")" "relay-2" "the session went through relay-2"

kill -CONT "$PID_relay_1"
wait_relay_up relay-1
pass "relay-1 is up again after SIGCONT"

#!/bin/sh
# Relay health is checked in the background: with relay-1 hanging (the port
# the check goes to, its client port, takes no connection and refuses none),
# a session still gets relay-2 while the check of relay-1 is still waiting,
# so consent never waits on it.
. "$(dirname "$0")/lib.sh"

full_stack 2
kill "$PID_relay_1"
wait_for 10 sh -c "! kill -0 $PID_relay_1" || fail "relay-1 did not stop"
bg blackhole tether-test-flood blackhole "$RELAY_1_CLIENT_PORT" 120
wait_for 20 grep -q ready "$WORK/blackhole.log" || fail "no blackhole: $(cat "$WORK/blackhole.log")"
# A check of relay-1 now outlasts the whole session set-up below.
set_server_conf relay_check.timeout_ms 100000
restart_server
wait_online 60

LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "device page fetched with relay-1 hanging"
expect_contains "$(tether --json session status "$SESSION")" "relay-2" "the session went through relay-2"
srvlog=$(cat "$WORK/server-2.log")
expect_contains "$srvlog" "relay relay-1 (127.0.0.1:$RELAY_1_DEVICE_PORT) skipped: not checked yet" \
	"consent skipped relay-1 while its check was still running"
expect_not_contains "$srvlog" "relay relay-1 (127.0.0.1:$RELAY_1_DEVICE_PORT) is down" \
	"relay-1's check had not finished when the ticket was issued"
expect_contains "$srvlog" "relay relay-2 (127.0.0.1:$RELAY_2_DEVICE_PORT) is up" \
	"relay-2 was seen up by the background check"

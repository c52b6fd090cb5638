#!/bin/sh
# An agent keeps its ping connection open (t707). If it goes away between
# two pings (its held ping just answered, the next not yet sent), the
# server sees that connection close and shows the device offline at once,
# not one long-poll period later. Here the period is 120 s and the "agent"
# is curl with the device's certificate: one held ping, woken by a session
# request, answered, and the connection closed as curl exits.
. "$(dirname "$0")/lib.sh"

deploy 1
set_server_conf longpoll_s 120
restart_server
wait_relay_up relay-1
start_device_service
agent_setup "$SERIAL"
cli_login
wait_online
# shellcheck disable=SC2046
kill -9 $(agent_pids) 2>/dev/null || true
wait_for 10 sh -c "! kill -0 $PID_agent 2>/dev/null" || fail "the agent did not die"
wait_for 20 sh -c "tether --json devices | grep -q '\"online\": false'" ||
	fail "a held ping's connection closed, yet the device stayed online"
pass "an agent killed while its ping is held is offline at once"

# curl as the agent: one ping that asks to be held
device_api "$AGENT_DIR/state" POST /api/v1/ping '{"status":"ok","wait":true}' \
	>"$WORK/ping.out" 2>&1 &
curl_pid=$!
wait_for 20 sh -c "tether --json devices | grep -q '\"online\": true'" ||
	fail "the held ping did not bring the device online"
[ -s "$WORK/ping.out" ] && fail "the ping was answered before anything was pending: $(cat "$WORK/ping.out")"

# a session request wakes the held ping; curl takes the answer and closes
out=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-708 wake\",\"services\":[\"http\"]}")
wait_for 20 sh -c "! kill -0 $curl_pid" || fail "the held ping was not answered"
expect_contains "$(cat "$WORK/ping.out")" "session_request" "the held ping was answered with the request"

# Presence would last one period (120 s) after that answer if the closed
# connection went unnoticed; 20 s is well short of it.
wait_for 20 sh -c "tether --json devices | grep -q '\"online\": false'" ||
	fail "the device stayed online after its connection closed between pings"
pass "a device whose connection closed between two pings is offline at once"

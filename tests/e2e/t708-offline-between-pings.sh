#!/bin/sh
# An agent keeps its ping connection open (t707). If it goes away between
# two pings (its held ping just answered, the next not yet sent), the
# server sees that connection close and shows the device offline at once,
# not one long-poll period later. Here the period is 120 s and the "agent"
# is curl with the device's certificate: one held ping, woken by a session
# request, answered, and the connection closed as curl exits. A host that
# goes silent without closing anything (every agent process stopped) is
# offline once its answered ping is not followed by another within 15 s.
# A ping may ask for a shorter hold ("hold_s"); a bad one is refused. The
# server's audit checkpoint is not sent to a device that holds its seq.
. "$(dirname "$0")/lib.sh"

deploy 1
set_server_conf longpoll_s 120
restart_server
wait_relay_up relay-1
start_device_service
agent_setup "$SERIAL"
cli_login
wait_online

# silent: every agent process stopped, its connection open; a request
# wakes the held ping, whose answer nobody reads
# shellcheck disable=SC2046
kill -STOP $(agent_pids)
sid=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-708 silent\",\"services\":[\"http\"]}" | jq -r .id)
wait_for 40 sh -c "tether --json devices | grep -q '\"online\": false'" ||
	fail "a device that did not ask again after its answer stayed online"
pass "a device that does not ask again after an answer is offline (not a 120 s period later)"
# shellcheck disable=SC2046
kill -CONT $(agent_pids)
wait_online 30
pass "resumed, it is online again"
tether session end "$sid" >/dev/null || fail "session end $sid"

# shellcheck disable=SC2046
kill -9 $(agent_pids) 2>/dev/null || true
wait_for 10 sh -c "! kill -0 $PID_agent 2>/dev/null" || fail "the agent did not die"
wait_for 20 sh -c "tether --json devices | grep -q '\"online\": false'" ||
	fail "a held ping's connection closed, yet the device stayed online"
pass "an agent killed while its ping is held is offline at once"

# curl as the agent: a first ping takes what is pending (the end of the
# session above), then one asks to be held
device_api "$AGENT_DIR/state" POST /api/v1/ping '{"status":"ok","wait":false}' >/dev/null
device_api "$AGENT_DIR/state" POST /api/v1/ping '{"status":"ok","wait":true}' \
	>"$WORK/ping.out" 2>&1 &
curl_pid=$!
wait_for 20 sh -c "tether --json devices | grep -q '\"online\": true'" ||
	fail "the held ping did not bring the device online"
[ -s "$WORK/ping.out" ] && fail "the ping was answered before anything was pending: $(cat "$WORK/ping.out")"

# a session request wakes the held ping; curl takes the answer and closes
wake=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-708 wake\",\"services\":[\"http\"]}")
wait_for 20 sh -c "! kill -0 $curl_pid" || fail "the held ping was not answered"
expect_contains "$(cat "$WORK/ping.out")" "session_request" "the held ping was answered with the request"

# Presence would last one period (120 s) after that answer if the closed
# connection went unnoticed; 20 s is well short of it.
wait_for 20 sh -c "tether --json devices | grep -q '\"online\": false'" ||
	fail "the device stayed online after its connection closed between pings"
pass "a device whose connection closed between two pings is offline at once"

# a ping may ask for a shorter hold than the server's 120 s (the request
# above ended, and its end taken, so that nothing is pending)
tether session end "$(printf '%s' "$wake" | jq -r .id)" >/dev/null || fail "session end"
device_api "$AGENT_DIR/state" POST /api/v1/ping '{"status":"ok","wait":false}' >/dev/null
out=$(device_api "$AGENT_DIR/state" POST /api/v1/ping '{"status":"ok","wait":true,"hold_s":1}')
held=$(printf '%s' "$out" | jq -r .held_ms)
[ "$(printf '%s' "$out" | jq -r .hold_s)" = 120 ] || fail "the answer does not say the server's hold: $out"
[ "$held" -ge 900 ] && [ "$held" -lt 60000 ] || fail "a ping asking hold_s 1 was held $held ms"
pass "a ping asking for a 1 s hold gets it, and the answer says the server's hold"
for bad in 0 301 '"5"'; do
	code=$(device_api "$AGENT_DIR/state" POST /api/v1/ping "{\"status\":\"ok\",\"wait\":true,\"hold_s\":$bad}" |
		jq -r .error)
	[ "$code" = bad_request ] || fail "hold_s $bad was not refused: $code"
done
pass "a hold_s out of 1..300 is refused"

# the server's checkpoint is not sent again to a device that says it holds it
out=$(device_api "$AGENT_DIR/state" POST /api/v1/ping '{"status":"ok","wait":false}')
seq=$(printf '%s' "$out" | jq -r .checkpoint.seq)
[ -n "$seq" ] && [ "$seq" != null ] || fail "no checkpoint in a ping's answer: $out"
out=$(device_api "$AGENT_DIR/state" POST /api/v1/ping "{\"status\":\"ok\",\"wait\":false,\"checkpoint_seq\":$seq}")
[ "$(printf '%s' "$out" | jq -r .checkpoint)" = null ] ||
	fail "the checkpoint the device holds was sent again: $out"
out=$(device_api "$AGENT_DIR/state" POST /api/v1/ping "{\"status\":\"ok\",\"wait\":false,\"checkpoint_seq\":$((seq + 5))}")
[ "$(printf '%s' "$out" | jq -r .checkpoint.seq)" = "$seq" ] ||
	fail "a device holding another seq was not shown the server's checkpoint: $out"
pass "the checkpoint is sent only to a device that holds another seq"

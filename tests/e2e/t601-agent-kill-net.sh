#!/bin/sh
# SIGKILL of the agent's network part during a forward: the monitor kills
# what it left (the session worker) and starts a new one, which finds the
# session in state_dir/live-sessions, audits it ended "agent restarted" and
# reports that to the server; the stream stops and the device is free for a
# new session (no 409 device_busy).
. "$(dirname "$0")/lib.sh"

deploy 1
stream_service
agent_setup "$SERIAL"
cli_login
wait_online
LPORT=$(free_port)
start_forward "$LPORT"
stream_open "$LPORT" s1
grep -q "^$SESSION\$" "$AGENT_DIR/state/live-sessions" ||
	fail "the live session is not recorded in state_dir"
pass "the live session is recorded in state_dir/live-sessions"
NET=$(pgrep -P "$PID_agent" -x tether-net) || fail "no network part"
workers=$(pgrep -P "$NET" | tr '\n' ' ')
[ -n "$workers" ] || fail "no session worker under the network part"

kill -KILL "$NET"
stream_closed s1
left=$(pids_gone $NET $workers) || fail "processes outlived the network part: $left"
pass "the worker died with the network part"
wait_for 20 sh -c "pgrep -P $PID_agent -x tether-net >/dev/null" || fail "no new network part"
wait_state "$SESSION" ended 30
device_end_reason_is "$SESSION" "agent restarted"
wait_ends_acked
audit_end_reason "$SESSION" "agent restarted" "the new network part reported the end"
expect_contains "$(agent_audit_detail session_end)" "agent restarted" \
	"the device audit records the end"
wait_online 40
out=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-601 again\",\"services\":[\"http\"]}")
expect_not_contains "$out" "device_busy" "a new request for the device is accepted"
expect_contains "$out" '"id"' "the new request has an id"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
	fail "device audit chain broken"

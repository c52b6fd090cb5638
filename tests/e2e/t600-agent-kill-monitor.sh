#!/bin/sh
# The whole agent crashes during a forward: SIGKILL of its monitor and its
# network part at once, so that neither can clean up. Nothing they started
# outlives them (the session worker dies with its parent), the stream
# through the tunnel stops, and the restarted agent reports the session it
# had as ended, "agent restarted", at the server and in the device audit.
. "$(dirname "$0")/lib.sh"

deploy 1
stream_service
agent_setup "$SERIAL"
cli_login
wait_online
LPORT=$(free_port)
start_forward "$LPORT"
stream_open "$LPORT" s1
tree=$(agent_pids)
n=$(echo $tree | wc -w)
[ "$n" -ge 3 ] || fail "expected the monitor, its network part and a worker: $tree"
pass "the agent runs as $n processes: $tree"

NET=$(pgrep -P "$PID_agent" -x tether-net) || fail "no network part"
kill -KILL "$PID_agent" "$NET"
stream_closed s1
left=$(pids_gone $tree) || fail "agent processes outlived the crash: $left"
pass "no agent process outlived the crash"

bg agent-2 tether-agent run --config "$AGENT_DIR/tether-agent.conf"
PID_agent=$PID_agent_2
wait_state "$SESSION" ended 30
# The relay saw the device leg close and may have ended it first; the
# agent's reason replaces the relay's view once its report arrives.
device_end_reason_is "$SESSION" "agent restarted"
wait_ends_acked
audit_end_reason "$SESSION" "agent restarted" "the restarted agent's end is on the server's trail"
expect_contains "$(agent_audit_detail session_end)" "agent restarted" \
	"the device audit records the end"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
	fail "device audit chain broken"
expect_not_contains "$(agent_consent status)" "$SESSION" "the restarted agent holds no session"

#!/bin/sh
# The whole agent crashes during a forward: SIGKILL of its monitor and its
# network part at once, so that neither can clean up. Nothing they started
# outlives them (the session worker dies with its parent), and the stream
# through the tunnel stops.
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


#!/bin/sh
# SIGTERM of the agent during a forward ends the live session with records
# before it exits: device audit and server both say "agent stopped", the
# stream stops and no agent process is left. SIGKILL of the monitor alone
# does the same: the network part hears of it (PR_SET_PDEATHSIG) and stops.
. "$(dirname "$0")/lib.sh"

deploy 1
stream_service
agent_setup "$SERIAL"
cli_login
wait_online
for how in TERM KILL; do
	LPORT=$(free_port)
	start_forward "$LPORT"
	stream_open "$LPORT" "s$how"
	tree=$(agent_pids)
	kill -"$how" "$PID_agent"
	stream_closed "s$how"
	left=$(pids_gone $tree) || fail "agent processes outlived SIG$how: $left"
	pass "no agent process is left after SIG$how of the monitor"
	wait_state "$SESSION" ended 30
	end_reason_is "$SESSION" "agent stopped"
	wait_ends_acked
	audit_end_reason "$SESSION" "agent stopped" "SIG$how: the end is on the server's trail"
	agent_audit_detail session_end | grep -q "$SESSION: agent stopped" ||
		fail "SIG$how: the device audit has no end of $SESSION"
	pass "SIG$how: the device audit records the end"
	[ ! -s "$AGENT_DIR/state/live-sessions" ] || fail "SIG$how: live-sessions still lists a session"
	wait_for 20 sh -c "! kill -0 $PID_forward" || fail "tether forward kept running"
	bg "agent-$how" tether-agent run --config "$AGENT_DIR/tether-agent.conf"
	eval "PID_agent=\$PID_agent_$how"
	wait_online 40
done
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
	fail "device audit chain broken"

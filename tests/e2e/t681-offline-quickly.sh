#!/bin/sh
# A device whose agent dies is shown offline within one long-poll period
# (the server notices its held long-poll connection drop), not a minute
# later when its last ping ages out; restarted, it is online again.
. "$(dirname "$0")/lib.sh"

full_stack 1
sleep 1   # the agent's long-poll is held by now
# shellcheck disable=SC2046
kill -9 $(agent_pids) 2>/dev/null || true
wait_for 10 sh -c "! kill -0 $PID_agent 2>/dev/null" || fail "the agent did not die"

# One long-poll period (longpoll_s, 30 s by default) of wall time, plus 2 s
# for whole-second clocks, bounds the wait; the assertion is the state, not
# how fast it came. (Before, a dead agent stayed online until its last ping,
# at most 30 s old, was longpoll_s + 35 s old: 35 s or more.)
end=$(($(date +%s) + 32))
state=""
while [ "$(date +%s)" -le "$end" ]; do
	state=$(tether --json devices)
	case "$state" in *'"online": false'*) break ;; esac
	sleep 0.5
done
expect_contains "$state" '"online": false' \
	"device shown offline within one long-poll period after its agent was killed"

# shellcheck disable=SC2086
bg agent-2 ${AGENT_WRAPPER:-} tether-agent run --config "$AGENT_DIR/tether-agent.conf"
wait_online 30
pass "the restarted agent is online again"

#!/bin/sh
# The agent's monitor restarts a network part that dies, and first kills
# every program it started for it: a specialist's shell, though its parent
# is a keeper and not the worker, dies with the session's network part. The
# device comes back online under a new network part; the monitor itself
# never stopped. SIGTERM to the monitor then stops everything cleanly.
if [ "$(id -u)" != 0 ]; then
	echo "[t433-agent-monitor-restart] skipped: needs root (support_user)"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3    # a shell is a level 3 permission (policy.conf)

full_stack 1
setup_askpass "$SUPPORT_PW"
wait_for 10 sh -c "pgrep -P $PID_agent -x tether-net >/dev/null" || fail "no network part"
NET=$(pgrep -P "$PID_agent" -x tether-net)

sid=$(request_actions "TCK-433 shell" shell)
consent_session "$sid"
ssh_master "$sid"
# It ignores the hang-up a closing terminal sends: only the keeper's kill ends it.
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" device "trap '' HUP; exec sleep 4433" >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_for 20 sh -c "pgrep -u support -f 'sleep 4433' >/dev/null" ||
	fail "the shell's command never started"
CHILD=$(pgrep -u support -f 'sleep 4433' | head -1)
KEEPER=$(ps -o ppid= -p "$CHILD" | tr -d ' ')
[ "$(cat /proc/"$KEEPER"/comm)" = tether-keeper ] || fail "the shell's parent is not a keeper"
pass "the shell runs as support under a keeper ($KEEPER), not under the worker"

kill -KILL "$NET"
wait_for 20 sh -c "! kill -0 $CHILD 2>/dev/null" || fail "the shell outlived its network part"
pass "the shell died with the network part"
wait_for 20 sh -c "! kill -0 $KEEPER 2>/dev/null" || fail "the keeper outlived its network part"
wait_for 20 sh -c "pgrep -P $PID_agent -x tether-net >/dev/null" || fail "no new network part"
NET2=$(pgrep -P "$PID_agent" -x tether-net)
[ "$NET2" != "$NET" ] || fail "the network part was not replaced"
kill -0 "$PID_agent" || fail "the monitor stopped"
grep -q "network part (pid $NET) ended (signal 9); restarting" "$WORK/agent.log" ||
	fail "the restart is not logged"
pass "the monitor restarted the network part ($NET -> $NET2)"
tether session end "$sid" >/dev/null 2>&1 || true
wait_for 40 sh -c "tether --json devices | grep -q '\"online\": *true'" || fail "the device did not come back online"
pass "the device is online again"
agent_consent list >/dev/null || fail "the consent socket does not answer after the restart"
pass "the consent socket answers under the new network part"

kill -TERM "$PID_agent"
wait_for 30 sh -c "! kill -0 $PID_agent 2>/dev/null" || fail "the monitor did not stop on SIGTERM"
! kill -0 "$NET2" 2>/dev/null || fail "the network part outlived the monitor"
[ ! -e "$AGENT_DIR/consent.sock" ] || fail "the consent socket was left behind"
pass "SIGTERM stops the monitor, its network part and removes the consent socket"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device audit chain broken"

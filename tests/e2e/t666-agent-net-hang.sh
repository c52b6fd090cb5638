#!/bin/sh
# A hung network part is noticed and replaced: it sends the agent's monitor
# a heartbeat from its event loop; frozen with SIGSTOP it sends none, and
# after MONITOR_HEARTBEAT_MISS_S (20 s) the monitor kills it and starts a
# new one; the device comes back online. The monitor itself runs under
# tests/harness/notifyd (systemd's Type=notify with WatchdogSec): it says
# READY=1, keeps its own watchdog fed all along, and is the one process
# notifyd supervises. Frozen in turn, the monitor is killed and restarted
# by notifyd, and the device comes back online again.
. "$(dirname "$0")/lib.sh"

deploy 1
start_device_service
AGENT_WRAPPER="notifyd --socket @tether-e2e-$$-agent --watchdog-ms 3000 --restarts 2 --restart-ms 500 --pidfile $WORK/agent.pid --"
agent_setup "$SERIAL"
cli_login
wait_online 30
wait_for 20 grep -q ': READY=1$' "$WORK/agent.log" || fail "the monitor never said READY=1"
MON=$(cat "$WORK/agent.pid")
wait_for 10 sh -c "pgrep -P $MON -x tether-net >/dev/null" || fail "no network part"
NET=$(pgrep -P "$MON" -x tether-net)
pass "the monitor ($MON) said READY=1; its network part is $NET"

kill -STOP "$NET"
wait_log "$WORK/agent.log" "network part (pid $NET) sent no heartbeat for 20 s" 40
pass "the monitor saw the frozen network part miss its heartbeat"
wait_for 20 sh -c "pgrep -P $MON -x tether-net >/dev/null" || fail "no new network part"
NET2=$(pgrep -P "$MON" -x tether-net)
[ "$NET2" != "$NET" ] || fail "the network part was not replaced"
! kill -0 "$NET" 2>/dev/null || fail "the frozen network part is still there"
pass "the frozen network part was killed and replaced ($NET -> $NET2)"
[ "$(cat "$WORK/agent.pid")" = "$MON" ] || fail "notifyd restarted the monitor, which was not hung"
expect_not_contains "$(cat "$WORK/agent.log")" "watchdog timeout" \
	"the monitor fed its own watchdog meanwhile"
wait_for 40 sh -c "tether --json devices | grep -q '\"online\": *true'" ||
	fail "the device did not come back online"
agent_consent list >/dev/null || fail "the consent socket does not answer"
pass "the device is online again and the consent socket answers"

# The monitor frozen: the service manager's watchdog takes over.
kill -STOP "$MON"
wait_log "$WORK/agent.log" "watchdog timeout: pid $MON" 30
wait_for 30 sh -c "[ \$(grep -c ': READY=1\$' '$WORK/agent.log') -ge 2 ]" ||
	fail "the agent was not started again"
MON2=$(cat "$WORK/agent.pid")
[ "$MON2" != "$MON" ] || fail "no new monitor"
pass "a frozen monitor missed its watchdog and was restarted ($MON -> $MON2)"
wait_for 20 sh -c "! kill -0 $NET2 2>/dev/null" || fail "the old network part outlived its monitor"
pass "the old network part went with its monitor"
wait_for 40 sh -c "tether --json devices | grep -q '\"online\": *true'" ||
	fail "the device did not come back online after the monitor's restart"
pass "the device is online under the restarted agent"
kill -TERM "$PID_agent"
wait_for 30 sh -c "! kill -0 $PID_agent" || fail "notifyd did not stop"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
	fail "the device's chain does not verify"
pass "the device's chain verifies"

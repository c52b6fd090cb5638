#!/bin/sh
# A device clock two days slow with no offset learned yet: the server's
# certificate is not yet valid by it, beyond the 24 h first contact allows,
# so the agent is refused and its log names the gap. Once an offset is kept
# (clock.json, as a restarted agent keeps what it learned) it connects, and
# a session works.
. "$(dirname "$0")/lib.sh"

deploy 2
start_device_service
AGENT_WRAPPER=$(faketime_wrapper -2d)
agent_setup "$SERIAL"
cli_login

wait_for 20 grep -q "certificate verify failed" "$WORK/agent.log" ||
	fail "the agent never said why it cannot reach the server"
expect_contains "$(cat "$WORK/agent.log")" \
	"device clock is 1 day 23 h behind the server's certificate: certificate is not yet valid" \
	"the refusal names the clock gap"
expect_contains "$(cat "$WORK/agent.log")" "first contact allows 24 h" "and the first-contact allowance"
[ "$(device_offset)" = null ] || fail "the server holds an offset for a device that never reached it"
tether --json devices | grep -q '"online": *true' && fail "the device is online with a clock 2 days slow"
pass "the device stays offline on first contact"

kill "$PID_agent"
wait_for 20 sh -c "! kill -0 $PID_agent" || fail "the agent did not stop"
owner=$(stat -c %U "$AGENT_DIR/state")
printf '{"offset_ms":172800000,"learned_at":0}\n' >"$AGENT_DIR/state/clock.json"
chown "$owner" "$AGENT_DIR/state/clock.json"
# shellcheck disable=SC2086
bg agent2 $AGENT_WRAPPER tether-agent run --config "$AGENT_DIR/tether-agent.conf"
wait_online
expect_contains "$(cat "$WORK/agent2.log")" "clock: kept offset: this device's clock is 2 days 0 h behind" \
	"the restarted agent uses the kept offset"

wait_clock_reported
off=$(device_offset)
[ "$off" -ge 172790 ] && [ "$off" -le 172810 ] || fail "the server holds offset '$off', expected about 172800"
pass "the server holds the device's offset ($off s)"
skewed_session "device clock 2 days behind, offset kept"
expect_contains "$(tether devices)" "-2 days 0 h !" "tether devices shows the clock 2 days behind"

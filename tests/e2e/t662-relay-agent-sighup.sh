#!/bin/sh
# SIGHUP reloads the relay's and the agent's log level instead of killing
# them: each logs what it did, the relay audits a relay_reload record, and a
# session through both still works afterwards. A config that no longer
# loads is refused with a log line and the settings in force kept.
. "$(dirname "$0")/lib.sh"

full_stack 1
RCONF="$SRV/relays/relay-1/tether-relay.conf"
RLOG="$SRV/relays/relay-1/audit.log"
wait_for 10 sh -c "pgrep -P $PID_agent -x tether-net >/dev/null" || fail "no network part"
NET=$(pgrep -P "$PID_agent" -x tether-net)

# --- the relay
printf 'log_level = debug\n' >>"$RCONF"
kill -HUP "$PID_relay_1"
wait_log "$WORK/relay-1.log" "reload: log level from"
kill -0 "$PID_relay_1" || fail "SIGHUP stopped the relay"
pass "SIGHUP did not stop the relay; it logged the reload"
wait_for 10 sh -c "grep '\"action\":\"relay_reload\"' '$RLOG' | grep -q 'applied.*log_level'" ||
	fail "no relay_reload record in the relay's trail: $(tail -2 "$RLOG")"
pass "the relay's trail records the reload"
cp "$RCONF" "$WORK/relay.conf.good"
printf 'no_such_key = 1\n' >>"$RCONF"
kill -HUP "$PID_relay_1"
wait_log "$WORK/relay-1.log" "keeping the settings in force"
kill -0 "$PID_relay_1" || fail "a bad config stopped the relay"
pass "a relay config that does not load is refused, the relay keeps running"
cp "$WORK/relay.conf.good" "$RCONF"

# --- the agent: the monitor reloads and passes SIGHUP to its network part
sed -i '/^log_level *=/d' "$AGENT_DIR/tether-agent.conf"
printf 'log_level = debug\n' >>"$AGENT_DIR/tether-agent.conf"
kill -HUP "$PID_agent"
wait_log "$WORK/agent.log" "monitor: reload: log level from"
wait_log "$WORK/agent.log" "reload: log level from $AGENT_DIR/tether-agent.conf applied; other"
kill -0 "$PID_agent" || fail "SIGHUP stopped the agent's monitor"
[ "$(pgrep -P "$PID_agent" -x tether-net)" = "$NET" ] ||
	fail "SIGHUP replaced the network part ($NET -> $(pgrep -P "$PID_agent" -x tether-net))"
pass "SIGHUP reloaded the monitor and the same network part ($NET)"
kill -HUP "$NET"
wait_for 20 sh -c "[ \$(grep -c 'reload: log level from $AGENT_DIR' '$WORK/agent.log') -ge 2 ]" ||
	fail "a SIGHUP to the network part itself was not a reload"
kill -0 "$NET" || fail "SIGHUP stopped the network part"
pass "SIGHUP to the network part alone is a reload too"

# Both still serve: a session end to end through the relay.
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "a session works after the reloads"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
	fail "the device's chain does not verify"
tether-relay audit verify --config "$RCONF" >/dev/null || fail "the relay's chain does not verify"
pass "both trails verify"

#!/bin/sh
# The relay under tests/harness/notifyd (systemd's Type=notify with
# WatchdogSec and Restart=on-failure): it says READY=1 and feeds the
# watchdog from its event loop; SIGHUP is RELOADING=1 then READY=1; frozen
# with SIGSTOP it is killed and restarted, and a session through it works.
. "$(dirname "$0")/lib.sh"

deploy 1
start_device_service
kill "$PID_relay_1"
wait_for 20 sh -c "! kill -0 $PID_relay_1" || fail "the relay did not stop"
under_notifyd relaywd 3000 tether-relay run --config "$SRV/relays/relay-1/tether-relay.conf"
wait_for 20 grep -q ': READY=1$' "$WORK/relaywd.notify" || fail "the relay never said READY=1"
OLD=$(cat "$WORK/relaywd.pid")
pass "the relay says READY=1"
kill -HUP "$OLD"
wait_for 20 grep -q ': RELOADING=1$' "$WORK/relaywd.notify" || fail "no RELOADING=1 on SIGHUP"
wait_for 20 sh -c "[ \$(grep -c ': READY=1\$' '$WORK/relaywd.notify') -ge 2 ]" ||
	fail "no READY=1 after the reload"
pass "SIGHUP is RELOADING=1, then READY=1"
sleep 4                         # longer than the watchdog: pings keep it alive
kill -0 "$OLD" || fail "the watchdog killed a relay that was serving"

kill -STOP "$OLD"
wait_log "$WORK/relaywd.notify" "watchdog timeout: pid $OLD" 30
wait_for 30 sh -c "[ \$(grep -c ': READY=1\$' '$WORK/relaywd.notify') -ge 3 ]" ||
	fail "the relay was not started again"
NEW=$(cat "$WORK/relaywd.pid")
[ "$NEW" != "$OLD" ] || fail "no new relay process"
pass "the frozen relay was killed and restarted ($OLD -> $NEW)"
wait_relay_up relay-1
agent_setup "$SERIAL"
cli_login
wait_online 30
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "a session runs through the restarted relay"
tether-relay audit verify --config "$SRV/relays/relay-1/tether-relay.conf" >/dev/null ||
	fail "the relay's chain does not verify after the kill"
pass "the relay's chain verifies after the kill"

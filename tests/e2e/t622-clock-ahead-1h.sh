#!/bin/sh
# A device clock an hour fast: every ticket (60 s of life) would look long
# expired by it. Judged by the server's clock, the session works; the server
# shows the clock ahead and warns.
. "$(dirname "$0")/lib.sh"

skewed_stack +1h
wait_clock_reported
off=$(device_offset)
[ "$off" -ge -3610 ] && [ "$off" -le -3590 ] || fail "the server holds offset '$off', expected about -3600"
pass "the server holds the device's offset ($off s)"

skewed_session "device clock 1 h ahead"

out=$(tether devices)
expect_contains "$out" "+1 h 0 min !" "the device's clock is shown 1 h ahead and flagged"
expect_contains "$out" "warning: the clock of device $SERIAL is 1 h 0 min ahead of the server's" \
	"tether devices warns about the skewed clock"
audit_has device_clock_skew "\"offset_s\":$off" "the server audits the skew"
expect_contains "$(cat "$WORK/agent.log")" "this device's clock is 1 h 0 min ahead of the server's" \
	"the agent logs its offset"

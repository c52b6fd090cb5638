#!/bin/sh
# A device clock an hour slow (no NTP): the agent learns its offset from the
# server's ping answers and judges the server's certificates and the ticket
# by the server's clock, so a session works. The server shows the offset,
# warns about it once in its audit trail, and the agent keeps the offset.
. "$(dirname "$0")/lib.sh"

skewed_stack -1h
wait_clock_reported
off=$(device_offset)
[ "$off" -ge 3590 ] && [ "$off" -le 3610 ] || fail "the server holds offset '$off', expected about 3600"
pass "the server holds the device's offset ($off s)"

skewed_session "device clock 1 h behind"

out=$(tether devices)
expect_contains "$out" "CLOCK" "tether devices has a CLOCK column"
expect_contains "$out" "-1 h 0 min !" "the device's clock is shown 1 h behind and flagged"
expect_contains "$out" "warning: the clock of device $SERIAL is 1 h 0 min behind the server's" \
	"tether devices warns about the skewed clock"
audit_has device_clock_skew "\"offset_s\":$off" "the server audits the skew"
n=$(tether-server audit list --dir "$SRV" | awk '$4 == "device_clock_skew"' | wc -l)
[ "$n" -eq 1 ] || fail "device_clock_skew audited $n times, expected once"
pass "the skew is audited once, not on every ping"

expect_contains "$(cat "$WORK/agent.log")" "clock: learned from the server: this device's clock is 1 h 0 min behind the server's" \
	"the agent logs its offset"
kept=$(jq -r .offset_ms "$AGENT_DIR/state/clock.json")
[ "$kept" -ge 3590000 ] && [ "$kept" -le 3610000 ] || fail "clock.json keeps '$kept' ms"
pass "the agent keeps the offset in clock.json"

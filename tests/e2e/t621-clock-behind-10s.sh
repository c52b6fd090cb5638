#!/bin/sh
# A device clock 10 s slow, which used to refuse every session with "ticket
# rejected: expired" (tickets allow 5 s of skew): the session works, the
# server shows the offset, and 10 s is below the warning threshold.
. "$(dirname "$0")/lib.sh"

skewed_stack -10
wait_clock_reported
off=$(device_offset)
[ "$off" -ge 8 ] && [ "$off" -le 12 ] || fail "the server holds offset '$off', expected about 10"
pass "the server holds the device's offset ($off s)"

skewed_session "device clock 10 s behind"

out=$(tether devices)
line=$(printf '%s\n' "$out" | grep "^$SERIAL ")
expect_contains "$line" "-$off s" "tether devices shows the device's clock $off s behind"
expect_not_contains "$line" "!" "the offset is not flagged"
expect_not_contains "$out" "warning:" "no warning below clock_skew_warn_s"
n=$(tether-server audit list --dir "$SRV" | awk '$4 == "device_clock_skew"' | wc -l)
[ "$n" -eq 0 ] || fail "device_clock_skew audited $n times below the threshold"
pass "no device_clock_skew record below the threshold"
expect_not_contains "$(cat "$AGENT_DIR/state/audit.log")" "ticket_rejected" "no ticket was rejected"

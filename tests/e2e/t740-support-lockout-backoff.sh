#!/bin/sh
# Wrong support passwords lock the device support account for a time that
# doubles with each further failure, and the lock ends by itself: the right
# password then works and clears the run. Each lock is audited on the device.
. "$(dirname "$0")/lib.sh"

AGENT_EXTRA_CONF="support_max_failures = 3
support_lock_base_s = 2
support_lock_max_s = 600"
full_stack 1
agent_audit_mark

if support_ssh "wrong-password-123" 3; then fail "a wrong password was accepted"; fi
expect_contains "$(support_records auth_failed)" "wrong password (3 in a row)" \
	"three wrong passwords are counted"
expect_contains "$(support_records support_locked)" '"failures":3,"lock_s":2' \
	"the third locks the account for support_lock_base_s (audited)"
wait_support_unlocked
pass "the lock ended by itself"

if support_ssh "wrong-password-456" 1; then fail "a wrong password was accepted"; fi
expect_contains "$(support_records support_locked)" '"failures":4,"lock_s":4' \
	"one more wrong password locks again, twice as long"
wait_support_unlocked

support_ssh "$SUPPORT_PW" 1 || true
expect_contains "$(support_records auth_success)" "$SUPPORT_SID" \
	"after the lock the right password is accepted"
expect_contains "$(support_status)" "not locked; 0 wrong passwords" "success clears the run"

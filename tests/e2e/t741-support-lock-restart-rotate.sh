#!/bin/sh
# The support account's lock survives an agent restart (the record lives in
# state_dir), attempts while locked are neither checked nor counted, and
# `tether-agent support-password` rotates the password: the lock is cleared,
# the old password stops working, the new one works. Lock and rotation are
# audited on the device.
. "$(dirname "$0")/lib.sh"

AGENT_EXTRA_CONF="support_max_failures = 3
support_lock_base_s = 600
support_lock_max_s = 3600"
full_stack 1
conf="$AGENT_DIR/tether-agent.conf"
agent_audit_mark

if support_ssh "wrong-password-123" 3; then fail "a wrong password was accepted"; fi
expect_contains "$(support_records support_locked)" '"failures":3,"lock_s":600' \
	"three wrong passwords lock the account (audited)"

restart_agent
expect_contains "$(support_status)" "locked for" "still locked after the agent's restart"
if support_ssh "$SUPPORT_PW" 1; then fail "the restarted agent accepted the right password while locked"; fi
expect_contains "$(support_records auth_locked)" "$SUPPORT_SID user support: support account locked" \
	"the restarted agent refuses even the right password"
expect_contains "$(cat "$WORK/support-ssh.log")" "support account is locked for" \
	"the specialist's ssh is told the account is locked"
expect_contains "$(support_status)" "after 3 wrong passwords" "an attempt while locked is not counted"

# rotation: too short is refused and changes nothing; then a new password
if printf 'short\n' | tether-agent support-password --config "$conf" >"$WORK/rotate.log" 2>&1; then
	fail "a too short support password was taken"
fi
expect_contains "$(cat "$WORK/rotate.log")" "at least 12 characters" "a too short password is refused, saying why"
NEW_PW=$(random_password)
printf '%s\n' "$NEW_PW" | tether-agent support-password --config "$conf" >"$WORK/rotate.log" 2>&1 ||
	fail "support-password: $(cat "$WORK/rotate.log")"
expect_contains "$(cat "$WORK/rotate.log")" "the old one no longer works" "support-password sets a new password"
expect_contains "$(support_records support_password_set)" "lockout cleared (3 wrong passwords" \
	"the rotation is audited with the lock it cleared"
expect_contains "$(support_status)" "not locked; 0 wrong passwords" "the rotation cleared the lock"
if [ "$(id -u)" = 0 ]; then
	owner=$(stat -c %U "$AGENT_DIR/state/support.hash" "$AGENT_DIR/state/support.failures" | sort -u)
	[ "$owner" = "$E2E_AGENT_USER" ] || fail "support-password as root left files owned by $owner"
	pass "run as root, support-password leaves the files the agent's"
fi

# one connection: the old password first (refused), then the new one
support_ssh "$SUPPORT_PW $NEW_PW" 2 || true
expect_contains "$(support_records auth_failed)" "$SUPPORT_SID user support: wrong password (1 in a row)" \
	"the old password stops working"
expect_contains "$(support_records auth_success)" "$SUPPORT_SID" "the new password works"

# at a terminal the new password is asked for twice and never echoed (a pty)
TTY_PW=$(random_password)
out=$(PW="$TTY_PW" timeout 30 python3 "$TETHER_SRC/tests/e2e/helpers/ptyrun.py" 25 \
	"New support password:" PW "Again:" PW -- tether-agent support-password --config "$conf" \
	2>&1) || fail "support-password at a terminal: $out"
expect_contains "$out" "Again:" "at a terminal the new password is asked for twice"
expect_contains "$out" "the old one no longer works" "support-password at a terminal sets the password"
expect_not_contains "$out" "$TTY_PW" "the support password typed at the terminal is not echoed"
agent_audit_mark
support_ssh "$TTY_PW" 1 || true
expect_contains "$(support_records auth_success)" "$SUPPORT_SID" "the password set at the terminal works"
tether-agent audit verify --config "$conf" >/dev/null || fail "device audit chain broken"

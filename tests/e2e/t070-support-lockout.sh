#!/bin/sh
# A wrong device support password is refused; after repeated failures the
# account locks and even the right password is refused.
. "$(dirname "$0")/lib.sh"

full_stack 1
LPORT=$(free_port)
setup_askpass "wrong-password-123"
try_ssh() {
	sid=$(tether session request "$SERIAL" --reason "TCK-6 lockout")
	wait_consent_pending "$sid"
	agent_consent accept "$sid" >/dev/null
	tether session wait "$sid" --timeout 30 >/dev/null || fail "not consented"
	timeout 30 ssh -F /dev/null -o BatchMode=no -o NumberOfPasswordPrompts=1 \
		-o PreferredAuthentications=password -o ProxyCommand="tether connect $sid" \
		-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR \
		support@device true >"$WORK/ssh.log" 2>&1 && return 0
	tether session end "$sid" >/dev/null 2>&1 || true
	return 1
}
n=1
while [ $n -le 5 ]; do
	if try_ssh; then fail "wrong password accepted (try $n)"; fi
	n=$((n + 1))
done
pass "five wrong passwords refused"
setup_askpass "$SUPPORT_PW"
if try_ssh; then fail "locked account accepted the right password"; fi
pass "right password refused while locked"
log_text=$(cat "$AGENT_DIR/state/audit.log")
expect_contains "$log_text" "auth_failed" "failures are audited on the device"
expect_contains "$log_text" "locked" "the lock is audited on the device"

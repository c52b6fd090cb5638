#!/bin/sh
# `tether ssh` checks the device's SSH host key registered at enrollment: the
# real device is reached; a device whose key does not match is refused.
. "$(dirname "$0")/lib.sh"

full_stack 1
setup_askpass "$SUPPORT_PW"
ssh_fetch() {
	printf 'GET / HTTP/1.0\r\n\r\n' >"$WORK/request"
	bg ssh-run sh -c "tether ssh $SERIAL --reason 'TCK-8 host key' -- -W 127.0.0.1:$SERVICE_PORT <'$WORK/request' >'$WORK/ssh.out' 2>'$WORK/ssh.err'"
	sid=$(pending_session_id)
	agent_consent accept "$sid" >/dev/null
	wait_for 60 sh -c "! kill -0 $PID_ssh_run" || fail "tether ssh did not finish"
}
ssh_fetch
expect_contains "$(cat "$WORK/ssh.out")" "all systems nominal" "tether ssh -W reaches the device service"
state=$(session_state "$sid")
[ "$state" = ended ] || fail "session not ended after ssh exited (state $state)"
pass "tether ssh ends the session when ssh exits"

# The registry now holds another key for this device: a man in the middle.
other=$(ssh-keygen -q -t ed25519 -N '' -f "$WORK/other" && cut -d' ' -f1-2 "$WORK/other.pub")
sqlite3 "$SRV/tether.db" "UPDATE devices SET ssh_hostkey = '$other' WHERE serial = '$SERIAL'"
ssh_fetch
expect_not_contains "$(cat "$WORK/ssh.out")" "nominal" "no bytes when the host key does not match"
expect_contains "$(cat "$WORK/ssh.err")" "Host key verification failed" "ssh reports the host key mismatch"

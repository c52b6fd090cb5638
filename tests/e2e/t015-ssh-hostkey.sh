#!/bin/sh
# `tether ssh` checks the device's SSH host key registered at enrollment: the
# real device is reached (a command in the session's shell fetches the
# device's local status page); a device whose key does not match is refused.
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3    # tether ssh asks for a shell, a level 3 permission

full_stack 1
setup_askpass "$SUPPORT_PW"
ssh_fetch() {
	printf 'curl -sS http://127.0.0.1:%s/\nexit\n' "$SERVICE_PORT" >"$WORK/input"
	bg ssh-run sh -c "tether ssh $SERIAL --reason 'TCK-8 host key' -- -tt -v <'$WORK/input' >'$WORK/ssh.out' 2>'$WORK/ssh.err'"
	sid=$(pending_session_id)
	agent_consent accept "$sid" >/dev/null
	wait_for 60 sh -c "! kill -0 $PID_ssh_run" || fail "tether ssh did not finish"
}
ssh_fetch
expect_contains "$(cat "$WORK/ssh.out" "$WORK/ssh.err")" "all systems nominal" "tether ssh reaches the device (its local service fetched from the shell)"
state=$(session_state "$sid")
[ "$state" = ended ] || fail "session not ended after ssh exited (state $state)"
pass "tether ssh ends the session when ssh exits"
# With AES instructions the CLI puts AES-GCM first (it costs less CPU per
# byte than ssh's first choice); without them ssh's own order stands.
if grep -qw aes /proc/cpuinfo; then want=aes128-gcm@openssh.com; else want=chacha20-poly1305@openssh.com; fi
expect_contains "$(grep 'kex: client->server cipher' "$WORK/ssh.err")" "cipher: $want" \
	"the SSH connection uses $want"

# The registry now holds another key for this device: a man in the middle.
other=$(ssh-keygen -q -t ed25519 -N '' -f "$WORK/other" && cut -d' ' -f1-2 "$WORK/other.pub")
sqlite3 "$SRV/tether.db" "UPDATE devices SET ssh_hostkey = '$other' WHERE serial = '$SERIAL'"
ssh_fetch
expect_not_contains "$(cat "$WORK/ssh.out")" "nominal" "no bytes when the host key does not match"
expect_contains "$(cat "$WORK/ssh.err")" "Host key verification failed" "ssh reports the host key mismatch"

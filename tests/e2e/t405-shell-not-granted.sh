#!/bin/sh
# A session granted only a forward: the client asks for a PTY, a shell, a
# command, SFTP and a diagnostic anyway (plain OpenSSH with `tether connect`
# as ProxyCommand, no tether client checks in the way). The device refuses
# each one and audits it; the granted forward still works.
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/files"
echo "log line" >"$WORK/files/device.log"
AGENT_EXTRA_CONF="files.logs = $WORK/files
diag.uptime = /bin/cat /proc/uptime"
full_stack 1
setup_askpass "$SUPPORT_PW"
sid=$(tether session request "$SERIAL" --reason "TCK-405 forward only" --service http)
consent_session "$sid"
# An interactive shell on a PTY, on a connection of its own (ssh's
# multiplexing needs a terminal for -tt).
# shellcheck disable=SC2086
if out=$(printf 'echo shell-ran-$((6*7))\nexit\n' | timeout 20 ssh $DEVICE_SSH_OPTS -tt \
	-o PreferredAuthentications=password -o ProxyCommand="tether connect $sid" device 2>&1) ||
   echo "$out" | grep -q shell-ran-42; then
	fail "a shell ran without the shell grant: $out"
fi
expect_contains "$out" "PTY allocation request failed" "interactive shell refused"
tether session end "$sid" >/dev/null

sid=$(tether session request "$SERIAL" --reason "TCK-405 forward only" --service http)
consent_session "$sid"
ssh_master "$sid"
if out=$(device_ssh device 'echo cmd-ran-$((6*7))' 2>&1) ||
   echo "$out" | grep -q cmd-ran-42; then
	fail "a command ran without the shell grant: $out"
fi
pass "exec refused"
if out=$(device_ssh device uptime 2>&1); then
	fail "an ungranted diagnostic ran: $out"
fi
expect_not_contains "$out" "." "ungranted diagnostic refused, nothing printed"
if echo "get device.log $WORK/got.log" | device_ssh -s device sftp >"$WORK/sftp.out" 2>&1 ||
   [ -f "$WORK/got.log" ]; then
	fail "sftp served without files:read: $(cat "$WORK/sftp.out")"
fi
pass "sftp subsystem refused"

# The device's trail has each refusal with its reason.
refusals=$(agent_audit_detail shell_refused)
expect_contains "$refusals" '"request":"pty-req","reason":"the ticket does not grant shell"' "pty-req refusal audited"
expect_contains "$refusals" '"request":"shell","reason":"the ticket does not grant shell"' "shell refusal audited"
expect_contains "$(agent_audit_detail exec_refused)" 'cmd-ran' "exec refusal audited with its command"
expect_contains "$(agent_audit_detail diag_refused)" '"reason":"the ticket does not grant this diagnostic"' "diag refusal audited"
expect_contains "$(agent_audit_detail sftp_refused)" 'neither files:read nor files:write' "sftp refusal audited"
[ -z "$(agent_audit_detail shell_start)" ] || fail "a shell_start is on record"
[ ! -d "$AGENT_DIR/state/recordings" ] || [ -z "$(ls "$AGENT_DIR/state/recordings")" ] ||
	fail "a recording exists: $(ls "$AGENT_DIR/state/recordings")"
pass "no shell was started"

# The forward the ticket grants still works in the same session.
# shellcheck disable=SC2086
out=$(printf 'GET / HTTP/1.0\r\n\r\n' | device_ssh -W "127.0.0.1:$SERVICE_PORT" device 2>&1 || true)
expect_contains "$out" "status page" "the granted forward works"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device audit chain broken"

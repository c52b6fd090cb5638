#!/bin/sh
# After a good login, the device's SSH server still refuses everything but a
# direct-tcpip forward to an allowlisted loopback service: other spellings
# of loopback, a command without the shell grant (audited exec_refused;
# t405 covers the other session requests), a remote forward (-R, which would make the device
# listen); and a refused forward is audited even when its host name is not
# valid UTF-8.
. "$(dirname "$0")/lib.sh"

full_stack 1
setup_askpass "$SUPPORT_PW"
sid=$(tether session request "$SERIAL" --reason "TCK-170 probes")
wait_consent_pending "$sid"
agent_consent accept "$sid" >/dev/null
tether session wait "$sid" --timeout 30 >/dev/null || fail "not consented"
CTL="$WORK/ctl"
SSHOPTS="-F /dev/null -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR"
# shellcheck disable=SC2086
bg ssh-master ssh $SSHOPTS -M -S "$CTL" -N -o PreferredAuthentications=password \
	-o ProxyCommand="tether connect $sid" support@device
# shellcheck disable=SC2086
wait_for 30 ssh $SSHOPTS -S "$CTL" -O check device || fail "ssh master never connected"

# probe HOST: one direct-tcpip channel to HOST:SERVICE_PORT; prints what came back.
probe() {
	# shellcheck disable=SC2086
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 ssh $SSHOPTS -S "$CTL" \
		-W "$1:$SERVICE_PORT" device 2>&1 || true
}
expect_contains "$(probe 127.0.0.1)" "status page" "the allowlisted service is reachable"
for host in 127.0.0.1.nip.io 0x7f000001 2130706433 localhost. ::1 "[::1]" 127.1 0.0.0.0; do
	expect_not_contains "$(probe "$host")" "status page" "direct-tcpip to $host refused"
done
wait_for 10 grep -q "0x7f000001" "$AGENT_DIR/state/audit.log" ||
	fail "the refused forward to 0x7f000001 is not in the device's audit"

# A host name that is not UTF-8: refused, and still on the device's record.
expect_not_contains "$(probe "$(printf 'evil\377\376')")" "status page" "non-UTF-8 host refused"
wait_for 10 grep -q 'evil??:' "$AGENT_DIR/state/audit.log" ||
	fail "the refused forward to a non-UTF-8 host is missing from the audit"

# A shell (session channel) is refused.
# shellcheck disable=SC2086
if out=$(timeout 10 ssh $SSHOPTS -S "$CTL" device echo shell-ran 2>&1) ||
   echo "$out" | grep -q shell-ran; then
	fail "a shell ran on the device: $out"
fi
pass "session channel refused"
wait_for 10 sh -c "jq -r 'select(.action == \"exec_refused\") | .detail' '$AGENT_DIR/state/audit.log' | grep -q shell-ran" ||
	fail "the refused command is not in the device's audit"
pass "the refused command is audited (exec_refused)"

# A remote forward would make the device listen: refused, nothing listens.
rport=$(free_port)
# shellcheck disable=SC2086
if timeout 10 ssh $SSHOPTS -S "$CTL" -O forward -R "127.0.0.1:$rport:127.0.0.1:$SERVICE_PORT" \
	device >"$WORK/rfwd.log" 2>&1; then
	fail "remote forward accepted: $(cat "$WORK/rfwd.log")"
fi
pass "remote forward (-R) refused"
for pid in $(agent_pids); do
	out=$(listening_sockets "$pid")
	[ -z "$out" ] || fail "agent process $pid listens: $out"
done
grep -q "global request" "$AGENT_DIR/state/audit.log" ||
	fail "the refused remote forward is not audited"
pass "no listening socket on the device"
# shellcheck disable=SC2086
ssh $SSHOPTS -S "$CTL" -O exit device >/dev/null 2>&1 || true

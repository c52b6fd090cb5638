#!/bin/sh
# Plain OpenSSH through the entry `tether ssh-config` prints: its
# ProxyCommand `tether connect DEVICE.tether` finds the specialist's open
# session on DEVICE and keeps the device's registered host key in
# $TETHER_HOME/known_hosts, which the entry pins (StrictHostKeyChecking).
# Once the session has ended, a connection is refused, saying why.
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/logs" "$WORK/local"
printf 'config log line %s\n' 1 2 3 >"$D/logs/device.log"
AGENT_EXTRA_CONF="files.logs = $D/logs"
full_stack 1
setup_askpass "$SUPPORT_PW"

tether ssh-config >"$WORK/ssh_config" 2>"$WORK/cfg.err" || fail "ssh-config: $(cat "$WORK/cfg.err")"
grep -q '^Host \*\.tether$' "$WORK/ssh_config" || fail "no Host entry: $(cat "$WORK/ssh_config")"
grep -q "^    ProxyCommand .*/tether connect %n$" "$WORK/ssh_config" ||
	fail "no ProxyCommand: $(cat "$WORK/ssh_config")"
grep -q '^    StrictHostKeyChecking yes$' "$WORK/ssh_config" || fail "the host key is not pinned"
# as `tether ssh` does (t015): AES-GCM first where the CPU has AES instructions
if grep -q '^flags.* aes\( \|$\)' /proc/cpuinfo; then
	grep -q '^    Ciphers ^aes128-gcm@openssh.com,aes256-gcm@openssh.com$' "$WORK/ssh_config" ||
		fail "no AES-GCM preference on a CPU with AES: $(cat "$WORK/ssh_config")"
fi
pass "tether ssh-config prints the entry"

# Without a session the ProxyCommand says what to do.
printf 'ls %s\n' "$D/logs" >"$WORK/batch-ls"
rc=0
timeout 30 sftp -F "$WORK/ssh_config" -o BatchMode=no -b "$WORK/batch-ls" "$SERIAL.tether" \
	>"$WORK/none.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "sftp without a session exited 0"
expect_contains "$(cat "$WORK/none.out")" "no consented session on $SERIAL" "no session: refused"
expect_contains "$(cat "$WORK/none.out")" "tether session request $SERIAL" "no session: the way on"

# tether sftp|diag DEVICE without --reason use the open session: no new
# request, no consent; what it does not grant is refused, saying so.
first=$(request_actions "TCK-701 first" files:read)
consent_session "$first"
rc=0
tether diag "$SERIAL" uptime >"$WORK/diag.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "diag outside the session's grant exited 0"
expect_contains "$(cat "$WORK/diag.out")" "session $first on $SERIAL does not grant diag:uptime" \
	"a command the open session does not grant is refused"
printf 'get %s %s\n' "$D/logs/device.log" "$WORK/local/first.log" >"$WORK/batch-first"
rc=0
timeout 30 tether sftp "$SERIAL" -- -o BatchMode=no -b "$WORK/batch-first" \
	>"$WORK/first.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "tether sftp on the open session exited $rc: $(cat "$WORK/first.out")"
cmp -s "$D/logs/device.log" "$WORK/local/first.log" || fail "tether sftp fetched something else"
expect_contains "$(cat "$WORK/first.out")" "using your open session $first on $SERIAL (no new consent)" \
	"tether sftp uses the open session"
[ "$(api GET /api/v1/sessions | jq '[.sessions[] | select(.reason | startswith("TCK-701"))] | length')" = 1 ] ||
	fail "tether sftp made a new request"
pass "tether sftp DEVICE uses the open session, with no new request"
tether session end "$first" >/dev/null 2>&1 || true
wait_state "$first" ended

sid=$(request_actions "TCK-701 config" files:read)
consent_session "$sid"
printf 'get %s %s\n' "$D/logs/device.log" "$WORK/local/got.log" >"$WORK/batch-get"
rc=0
timeout 30 sftp -F "$WORK/ssh_config" -o BatchMode=no -b "$WORK/batch-get" "$SERIAL.tether" \
	>"$WORK/sftp.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "sftp through the entry exited $rc: $(cat "$WORK/sftp.out")"
cmp -s "$D/logs/device.log" "$WORK/local/got.log" || fail "sftp fetched something else"
key=$(api GET "/api/v1/devices/$SERIAL" | jq -r .ssh_hostkey)
[ "$(cat "$TETHER_HOME/known_hosts")" = "$SERIAL.tether $key" ] ||
	fail "known_hosts does not hold the registered key: $(cat "$TETHER_HOME/known_hosts")"
pass "plain sftp through the entry works, against the registered host key"
audit_has session_ticket "$sid" "the connection's ticket"

# After the end, the entry refuses with the session's end reason.
tether session end "$sid" >/dev/null 2>&1 || true
wait_state "$sid" ended
rc=0
timeout 30 sftp -F "$WORK/ssh_config" -o BatchMode=no -b "$WORK/batch-ls" "$SERIAL.tether" \
	>"$WORK/ended.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "sftp after the session ended exited 0"
expect_contains "$(cat "$WORK/ended.out")" "no consented session on $SERIAL" "ended: refused"
expect_contains "$(cat "$WORK/ended.out")" "your last one there ended: " "ended: the reason is given"
pass "after the session ended a connection is refused, with the reason"

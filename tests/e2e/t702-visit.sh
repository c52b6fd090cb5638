#!/bin/sh
# One consented visit: after the operator's one accept and one support
# password, the specialist opens more connections in the same session
# (a diagnostic, a shell through `tether ssh` without --reason, sftp, a
# forward, plain scp through the ssh-config entry), each its own pair of
# relay legs, none asking for consent or the password again; each is
# audited on the server (session_connection) and on the device
# (tunnel_start with its number). After the session ends, a further
# connection is refused, saying why.
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/logs" "$WORK/local"
printf 'visit log line %s\n' 1 2 3 >"$D/logs/device.log"
AGENT_EXTRA_CONF="files.logs = $D/logs
diag.hello = /bin/echo hello-from-diag"
SPEC_LEVEL=3
full_stack 1
setup_askpass "$SUPPORT_PW"

sid=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-702 visit\",\"services\":[\"http\"],\"actions\":[\"shell\",\"files:read\",\"diag:hello\"]}" |
	jq -r .id)
[ -n "$sid" ] || fail "no session"
consent_session "$sid"
# The first connection, with the support password.
ssh_master "$sid"
wait_state "$sid" active
# From here on a password prompt would get a wrong one.
setup_askpass "not-the-password"

out=$(timeout 30 tether diag "$SERIAL" hello 2>"$WORK/diag.err") ||
	fail "tether diag on the visit: $(cat "$WORK/diag.err")"
[ "$out" = hello-from-diag ] || fail "diag output: $out"
pass "a diagnostic in the same session: no consent, no password"

printf 'echo "shell-$((6*7))"\nexit 0\n' >"$WORK/shell-input"
rc=0
timeout 30 tether ssh "$SERIAL" -- -tt <"$WORK/shell-input" >"$WORK/shell.out" 2>"$WORK/shell.err" || rc=$?
[ "$rc" -eq 0 ] || fail "tether ssh (no --reason) on the visit exited $rc: $(cat "$WORK/shell.err")"
expect_contains "$(cat "$WORK/shell.out")" "shell-42" \
	"tether ssh without --reason opens a shell in the same session: no consent, no password"

printf 'get %s %s\n' "$D/logs/device.log" "$WORK/local/sftp.log" >"$WORK/batch"
rc=0
timeout 30 tether sftp "$SERIAL" -- -o BatchMode=no -b "$WORK/batch" >"$WORK/sftp.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "tether sftp on the visit exited $rc: $(cat "$WORK/sftp.out")"
cmp -s "$D/logs/device.log" "$WORK/local/sftp.log" || fail "sftp fetched something else"
pass "sftp in the same session"

port=$(free_port)
bg fwd tether forward "$SERIAL" "$port:http"
wait_port "$port" 30
expect_contains "$(fetch "$port")" "nominal" "the forward in the same session serves the page"
kill "$PID_fwd"

tether ssh-config >"$WORK/ssh_config" || fail "ssh-config"
rc=0
timeout 30 scp -F "$WORK/ssh_config" "$SERIAL.tether:$D/logs/device.log" "$WORK/local/scp.log" \
	>"$WORK/scp.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "plain scp through the entry exited $rc: $(cat "$WORK/scp.out")"
cmp -s "$D/logs/device.log" "$WORK/local/scp.log" || fail "scp fetched something else"
rc=0
timeout 30 scp -F "$WORK/ssh_config" "$SERIAL.tether:$D/logs/none.log" "$WORK/local/none.log" \
	>"$WORK/scp2.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "scp of a missing file exited 0"
pass "plain scp through the ssh-config entry: 0 on a copy, non-zero for a missing file"

# The first connection is still up, and the session is still the one consent.
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O check device 2>/dev/null || fail "the first connection dropped"
[ "$(session_state "$sid")" = active ] || fail "the session is $(session_state "$sid")"
[ "$(jq -r --arg s "$sid" 'select(.action == "session_request") | select(.detail | contains($s)) | .seq' \
	"$AGENT_DIR/state/audit.log" | wc -l)" = 1 ] || fail "the operator was asked more than once"
pass "one consent for the whole visit"

n=$(tether-server audit list --dir "$SRV" 2>/dev/null | awk '$4 == "session_connection"' | grep -c "$sid" || true)
[ "$n" -ge 5 ] || fail "server trail: $n session_connection records, want one per later connection"
n=$(jq -r 'select(.action == "tunnel_start") | .detail' "$AGENT_DIR/state/audit.log" |
	grep -c "session $sid conn [0-9]* .*proven yes" || true)
[ "$n" -ge 5 ] || fail "device trail: $n tunnel_start records of later connections with the proof"
[ "$(jq -r 'select(.action == "auth_failed") | .detail' "$AGENT_DIR/state/audit.log" | wc -l)" = 0 ] ||
	fail "a password was tried on a later connection"
pass "each connection is audited on the server and on the device"

tether session end "$sid" >/dev/null 2>&1 || fail "session end"
wait_state "$sid" ended
rc=0
tether diag "$SERIAL" hello >"$WORK/after.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a connection after the end worked"
expect_contains "$(cat "$WORK/after.out")" "no consented session on $SERIAL (your last one there ended: ended by the specialist)" \
	"after the end a connection is refused, saying why"

#!/bin/sh
# `tether --json ssh` and `tether --json forward` print the session id on
# stdout first; `tether sessions` lists the caller's open and recent
# sessions; scp and sftp exit 0 when a copy worked and non-zero when it
# did not (the SFTP channel ends with the server's exit status).
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/logs" "$WORK/local"
printf 'visit log line %s\n' 1 2 3 >"$D/logs/device.log"
AGENT_EXTRA_CONF="files.logs = $D/logs"
SPEC_LEVEL=3
full_stack 1
setup_askpass "$SUPPORT_PW"

# --json ssh: {"session": ID, ...} on the first line, then the command's output.
rc=0
printf 'echo via-ssh\nexit 0\n' >"$WORK/input"
tether --json ssh "$SERIAL" --reason "TCK-700 ssh" -- -tt <"$WORK/input" \
	>"$WORK/ssh.out" 2>"$WORK/ssh.err" &
spid=$!
sid_ssh=$(pending_session_id)
agent_consent accept "$sid_ssh" >/dev/null || fail "accept ssh"
wait "$spid" || rc=$?
[ "$rc" -eq 0 ] || fail "tether ssh exited $rc: $(cat "$WORK/ssh.err")"
[ "$(head -1 "$WORK/ssh.out" | jq -r .session)" = "$sid_ssh" ] ||
	fail "--json ssh did not print the session id first: $(cat "$WORK/ssh.out")"
expect_contains "$(cat "$WORK/ssh.out")" "via-ssh" "the command's output follows"
pass "--json ssh prints the session id"

# --json forward: the session id, the service and the local port.
port=$(free_port)
bg forward tether --json forward "$SERIAL" "$port:http" --reason "TCK-700 forward"
sid_fwd=$(pending_session_id)
agent_consent accept "$sid_fwd" >/dev/null || fail "accept forward"
wait_port "$port" 30
fetch "$port" >/dev/null || fail "no page through the forward"
line=$(head -1 "$WORK/forward.log")
[ "$(printf '%s' "$line" | jq -r .session)" = "$sid_fwd" ] ||
	fail "--json forward did not print the session id first: $line"
[ "$(printf '%s' "$line" | jq -r '.service + " " + (.local_port | tostring)')" = "http $port" ] ||
	fail "--json forward: service and port: $line"
pass "--json forward prints the session id, service and local port"
kill "$PID_forward"
wait_state "$sid_fwd" ended

# An open session for sftp and scp; `tether sessions` shows it and the two ended.
sid=$(request_actions "TCK-700 files" files:read)
[ -n "$sid" ] || fail "no session for files"
tether sessions >"$WORK/list.out" 2>"$WORK/list.err" || fail "tether sessions: $(cat "$WORK/list.err")"
head -1 "$WORK/list.out" | grep -q '^ID  *DEVICE  *STATE' || fail "no header: $(cat "$WORK/list.out")"
grep -q "^$sid  *$SERIAL  *awaiting_consent .*TCK-700 files" "$WORK/list.out" ||
	fail "the open session is not listed: $(cat "$WORK/list.out")"
grep -q "^$sid_ssh  *$SERIAL  *ended .*TCK-700 ssh  *[a-z]" "$WORK/list.out" ||
	fail "the ended ssh session is not listed with its reason: $(cat "$WORK/list.out")"
grep -q "^$sid_fwd  *$SERIAL  *ended" "$WORK/list.out" ||
	fail "the ended forward session is not listed: $(cat "$WORK/list.out")"
[ "$(tether --json sessions | jq -r '[.sessions[].id] | join(" ")')" = "$sid_ssh $sid_fwd $sid" ] ||
	fail "--json sessions: $(tether --json sessions)"
pass "tether sessions lists open and ended sessions, oldest first"

# Another user sees none of them.
add_user bob specialist 2
login_user bob
[ "$(api_as bob GET /api/v1/sessions | jq -r '.sessions | length')" = 0 ] ||
	fail "bob sees alice's sessions: $(api_as bob GET /api/v1/sessions)"
pass "a user lists only their own sessions"

consent_session "$sid"
ssh_master "$sid"
rc=0
# shellcheck disable=SC2086
timeout 30 scp $DEVICE_SSH_OPTS -o ControlPath="$WORK/ctl" "device:$D/logs/device.log" \
	"$WORK/local/ok.log" >"$WORK/scp-ok.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "scp of a file exited $rc: $(cat "$WORK/scp-ok.out")"
cmp -s "$D/logs/device.log" "$WORK/local/ok.log" || fail "scp fetched something else"
rc=0
# shellcheck disable=SC2086
timeout 30 scp $DEVICE_SSH_OPTS -o ControlPath="$WORK/ctl" "device:$D/logs/missing.log" \
	"$WORK/local/missing.log" >"$WORK/scp-missing.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "scp of a missing file exited 0"
rc=0
# shellcheck disable=SC2086
timeout 30 scp $DEVICE_SSH_OPTS -o ControlPath="$WORK/ctl" "$WORK/local/ok.log" \
	"device:$D/logs/upload.log" >"$WORK/scp-up.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "scp upload in a read-only session exited 0"
[ ! -e "$D/logs/upload.log" ] || fail "the read-only session wrote a file"
pass "scp exits 0 on success, non-zero for a missing file and a refused upload"
device_sftp ok "get $D/logs/device.log $WORK/local/sftp.log" ||
	fail "sftp get exited non-zero: $(cat "$WORK/sftp-ok.out")"
cmp -s "$D/logs/device.log" "$WORK/local/sftp.log" || fail "sftp fetched something else"
if device_sftp missing "get $D/logs/missing.log $WORK/local/x.log"; then
	fail "sftp get of a missing file exited 0"
fi
if device_sftp outside "get /etc/hostname $WORK/local/y.log"; then
	fail "sftp get outside the allowlist exited 0"
fi
pass "sftp exits 0 on success, non-zero for a missing file and one outside the allowlist"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true

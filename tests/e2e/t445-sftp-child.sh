#!/bin/sh
# The SFTP server runs as its own process (`tether-agent sftp-server`,
# started by the agent's monitor; as root, as the support user), its audit records reach the device's trail
# through the worker, and the channel ends with an exit status, so scp and
# sftp both exit 0.
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/logs" "$WORK/local"
printf 'pump log line %s\n' 1 2 3 >"$D/logs/device.log"
AGENT_EXTRA_CONF="files.logs = $D/logs"
full_stack 1
setup_askpass "$SUPPORT_PW"
sid=$(request_actions "TCK-435 sftp child" files:read)
consent_session "$sid"
ssh_master "$sid"

# One sftp session held open on a FIFO, to look at its server process.
mkfifo "$WORK/cmds"
# shellcheck disable=SC2086
timeout 60 sftp $DEVICE_SSH_OPTS -o ControlPath="$WORK/ctl" -b "$WORK/cmds" device \
	>"$WORK/held.out" 2>&1 &
spid=$!
exec 7>"$WORK/cmds"
printf 'ls %s\n' "$D/logs" >&7
wait_for 20 sh -c "jq -e 'select(.action == \"sftp_start\")' '$AGENT_DIR/state/audit.log'" ||
	fail "no sftp_start audited"
pid=$(agent_audit_detail sftp_start | jq -r .pid | tail -1)
[ -n "$pid" ] && [ "$pid" != null ] || fail "sftp_start names no server process"
cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
expect_contains "$cmd" "sftp-server" "the SFTP server is its own process"
ppid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status")
pcomm=$(cat "/proc/$ppid/comm" 2>/dev/null || true)
[ "$pcomm" = tether-keeper ] || fail "the SFTP server's parent is '$pcomm', not a keeper"
pass "the agent's monitor started it, through a keeper"
if [ "$(id -u)" = 0 ]; then
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
	[ "$uid" = "$(id -u support)" ] || fail "the SFTP server runs as uid $uid, not support"
	pass "it runs as the support user"
fi
printf 'get %s %s\nbye\n' "$D/logs/device.log" "$WORK/local/held.log" >&7
exec 7>&-
rc=0; wait "$spid" || rc=$?
[ "$rc" -eq 0 ] || fail "sftp exited $rc: $(cat "$WORK/held.out")"
cmp -s "$D/logs/device.log" "$WORK/local/held.log" || fail "the file fetched differs"
pass "sftp exits 0 and fetched the file"
wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "the SFTP server outlived its channel"
rec=$(agent_audit_detail file_read | grep held.log | tail -1)
[ -z "$rec" ] || fail "file_read names the local file: $rec"
rec=$(agent_audit_detail file_read | tail -1)
[ "$(printf '%s' "$rec" | jq -r .session)" = "$sid" ] || fail "file_read lacks the session: $rec"
[ "$(printf '%s' "$rec" | jq -r .sha256)" = "$(sha256sum <"$D/logs/device.log" | cut -d' ' -f1)" ] ||
	fail "file_read sha256: $rec"
pass "the child's file_read reaches the device trail with the session"
wait_for 10 sh -c "jq -r 'select(.action == \"sftp_end\") | .detail' '$AGENT_DIR/state/audit.log' | grep -q '\"exit_status\":0'" ||
	fail "sftp_end with exit_status 0 not audited: $(agent_audit_detail sftp_end)"
pass "sftp_end audited with the server's exit status"

# scp (SFTP protocol) exits 0: the channel sends an exit-status.
rc=0
# shellcheck disable=SC2086
timeout 30 scp $DEVICE_SSH_OPTS -o ControlPath="$WORK/ctl" "device:$D/logs/device.log" \
	"$WORK/local/scp.log" >"$WORK/scp.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "scp exited $rc: $(cat "$WORK/scp.out")"
cmp -s "$D/logs/device.log" "$WORK/local/scp.log" || fail "scp fetched something else"
pass "scp exits 0"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device audit chain broken"

#!/bin/sh
# A session is a visit: closing a connection, the first one included, does
# not end it. Two plain ssh connections one after the other and a plain scp,
# all through the `tether ssh-config` entry, run in one session with one
# consent and one support password; after the first one has closed (the
# relay's report and the device's tunnel_end are in), `tether sessions`
# still shows the session active. Each connection is audited on the device
# (tunnel_start / tunnel_end with its number) and on the server (the relay's
# start and end with its number). `tether session end` ends the visit, takes
# down the connection still open and refuses the next, saying why. A visit
# with no connection open still ends at its idle limit.
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/logs" "$WORK/local"
printf 'visit log line %s\n' 1 2 3 >"$D/logs/device.log"
AGENT_EXTRA_CONF="files.logs = $D/logs"
SPEC_LEVEL=3    # a shell is a level 3 permission
full_stack 1
setup_askpass "$SUPPORT_PW"
tether ssh-config >"$WORK/ssh_config" || fail "ssh-config"
HOST="$SERIAL.tether"

# plain_ssh NAME COMMAND: ssh through the entry; output in $WORK/NAME.out.
plain_ssh() {
	rc=0
	timeout 30 ssh -F "$WORK/ssh_config" "$HOST" "$2" >"$WORK/$1.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || fail "plain ssh ($1) exited $rc: $(cat "$WORK/$1.out")"
}
# dev_records ACTION: the device's ACTION records of $sid, one detail a line.
dev_records() {
	jq -r --arg a "$1" 'select(.action == $a) | .detail' "$AGENT_DIR/state/audit.log" |
		grep "session $sid[ :]" || true
}
# relay_ends: the server's relay_event end records of $sid.
relay_ends() {
	tether-server audit list --dir "$SRV" 2>/dev/null | awk '$4 == "relay_event"' |
		grep "$sid" | grep '"event":"end"' || true
}
state_listed() {
	tether --json sessions | jq -r --arg s "$1" '.sessions[] | select(.id == $s) | .state'
}

sid=$(request_actions "TCK-703 visit" shell files:read)
[ -n "$sid" ] || fail "no session"
consent_session "$sid"

# The first connection, with the support password; it closes.
plain_ssh first 'echo first-connection'
expect_contains "$(cat "$WORK/first.out")" "first-connection" "the first plain ssh ran"
wait_for 20 sh -c "jq -r 'select(.action == \"tunnel_end\") | .detail' '$AGENT_DIR/state/audit.log' |
	grep -q 'session $sid conn 0 '" || fail "the device never recorded the first connection's end"
wait_for 20 sh -c "tether-server audit list --dir '$SRV' 2>/dev/null | awk '\$4 == \"relay_event\"' |
	grep '$sid' | grep -q '\"event\":\"end\"'" || fail "the relay's end of the first connection never reached the server"
[ "$(state_listed "$sid")" = active ] ||
	fail "the first connection's close ended the session: $(tether sessions 2>&1)"
pass "the first connection closed and the session is still active (tether sessions)"

# From here on a password prompt would get a wrong one.
setup_askpass "not-the-password"
plain_ssh second 'echo second-connection'
expect_contains "$(cat "$WORK/second.out")" "second-connection" "a second plain ssh in the same visit"
rc=0
timeout 30 scp -F "$WORK/ssh_config" "$HOST:$D/logs/device.log" "$WORK/local/scp.log" \
	>"$WORK/scp.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "plain scp in the visit exited $rc: $(cat "$WORK/scp.out")"
cmp -s "$D/logs/device.log" "$WORK/local/scp.log" || fail "scp fetched something else"
pass "a second plain ssh and a plain scp: no consent, no password"

wait_for 20 sh -c "[ \$(jq -r 'select(.action == \"tunnel_end\") | .detail' '$AGENT_DIR/state/audit.log' |
	grep -c 'session $sid conn ') -ge 3 ]" || fail "the device did not record three connection ends"
wait_for 20 sh -c "[ \$(tether-server audit list --dir '$SRV' 2>/dev/null | awk '\$4 == \"relay_event\"' |
	grep '$sid' | grep -c '\"event\":\"end\"') -ge 3 ]" || fail "the server did not get three relay ends"
[ "$(state_listed "$sid")" = active ] || fail "the session is $(state_listed "$sid") after three connections"
[ "$(jq -r --arg s "$sid" 'select(.action == "session_request") | select(.detail | contains($s)) | .seq' \
	"$AGENT_DIR/state/audit.log" | wc -l)" = 1 ] || fail "the operator was asked more than once"
[ "$(tether-server audit list --dir "$SRV" | awk '$4 == "session_consented"' | grep -c "$sid")" = 1 ] ||
	fail "the server recorded more than one consent"
[ "$(jq -r 'select(.action == "auth_failed") | .detail' "$AGENT_DIR/state/audit.log" | wc -l)" = 0 ] ||
	fail "a password was tried on a later connection"
pass "three connections, one consent, one password; the session is still active"

for n in 0 1 2; do
	dev_records tunnel_start | grep -q "session $sid conn $n " || fail "device: no tunnel_start of conn $n"
	dev_records tunnel_end | grep -q "session $sid conn $n " || fail "device: no tunnel_end of conn $n"
done
for n in 1 2; do
	relay_ends | grep -q "\"conn\":$n[,}]" || fail "server: no relay end of conn $n"
	tether-server audit list --dir "$SRV" | awk '$4 == "session_connection"' | grep "$sid" |
		grep -q "\"conn\":$n[,}]" || fail "server: no session_connection of conn $n"
done
relay_ends | grep -v '"conn":' | grep -q . || fail "server: no relay end of the first connection"
pass "each connection's open and close is audited on the device and on the server"

# An open connection when the specialist ends the visit: it goes too.
bg master ssh -F "$WORK/ssh_config" -M -S "$WORK/ctl" -N "$HOST"
wait_for 30 ssh -F "$WORK/ssh_config" -S "$WORK/ctl" -O check "$HOST" ||
	fail "the held connection never came up: $(cat "$WORK/master.log")"
tether session end "$sid" >/dev/null 2>&1 || fail "session end"
wait_state "$sid" ended
wait_for 20 sh -c "! kill -0 $PID_master 2>/dev/null" || fail "the open connection outlived the session's end"
pass "tether session end ends the visit and its open connection"
rc=0
timeout 30 ssh -F "$WORK/ssh_config" "$HOST" 'echo after' >"$WORK/after.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a connection after the end worked"
expect_not_contains "$(cat "$WORK/after.out")" "after" "nothing ran after the end"
expect_contains "$(cat "$WORK/after.out")" \
	"no consented session on $SERIAL (your last one there ended: ended by the specialist)" \
	"after the end a connection is refused, saying why"

# An idle visit ends: with no connection open for the idle limit, the
# device ends it with "idle timeout" (the policy now says 5 s).
set_session_limits 3600 5
kill -HUP "$PID_server"
wait_log "$WORK/server.log" "reload: policy reloaded"
setup_askpass "$SUPPORT_PW"
sid=$(request_actions "TCK-703 idle" shell)
consent_session "$sid"
plain_ssh idle 'echo one-connection'
wait_state "$sid" ended 40
[ "$(tether --json session status "$sid" | jq -r .end_reason)" = "idle timeout" ] ||
	fail "the empty visit ended with '$(tether --json session status "$sid" | jq -r .end_reason)'"
dev_records session_end | grep -q "idle timeout: no connection for 5 s" ||
	fail "the device did not record the empty visit's end: $(dev_records session_end)"
pass "a visit with no connection ends at its idle limit"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device audit chain broken"
expect_contains "$(tether-server audit verify --dir "$SRV")" "intact" "server audit chain verifies"

#!/bin/sh
# shellcheck disable=SC2154 # PID_<name> variables are set by lib.sh bg() via eval
# The ticket's limits are enforced by the device whatever the client does:
# a session without channel data for the idle timeout ends, and so does a
# busy one at its maximum duration; the agent audits session_limit and the
# server's session ends with end_reason "idle timeout" / "maximum duration
# reached".
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3    # a shell is a level 3 permission (policy.conf)

SESSION_LIMITS="10 4"    # maximum duration 10 s, idle timeout 4 s
full_stack 1
setup_askpass "$SUPPORT_PW"

# end_reason ID
end_reason() { tether --json session status "$1" | jq -r .end_reason; }

# Idle: connected and authenticated, but nothing flows.
sid=$(request_actions "TCK-420 idle" shell)
consent_session "$sid"
ssh_master "$sid"
wait_state "$sid" ended 20
[ "$(end_reason "$sid")" = "idle timeout" ] || fail "idle: end_reason '$(end_reason "$sid")'"
pass "an idle session ends with 'idle timeout' at the server"
expect_contains "$(agent_audit_detail session_limit)" "\"session\":\"$sid\",\"limit\":\"idle\"" \
	"session_limit idle audited on the device"
wait_for 10 sh -c "! kill -0 $PID_ssh_master 2>/dev/null" || fail "the ssh connection outlived the session"
pass "the client's connection was closed"

# A running `tether ssh` left idle says why its session ended.
bg idle-ssh tether ssh "$SERIAL" --reason "TCK-420 idle ssh" -- -o "RemoteCommand=sleep 60"
sid=$(pending_session_id)
agent_consent accept "$sid" >"$WORK/accept.log" 2>&1 || fail "operator accept: $(cat "$WORK/accept.log")"
wait_for 30 sh -c "! kill -0 $PID_idle_ssh 2>/dev/null" || fail "tether ssh outlived its idle session"
expect_contains "$(cat "$WORK/idle-ssh.log")" "session $sid ended: idle timeout" \
	"the running tether ssh says the idle timeout ended its session"

# Maximum duration: output every half second keeps it from going idle.
sid=$(request_actions "TCK-420 busy" shell)
consent_session "$sid"
start=$(date +%s)
rc=0
# shellcheck disable=SC2086
timeout 40 ssh $DEVICE_SSH_OPTS -o PreferredAuthentications=password \
	-o ProxyCommand="tether connect $sid" device \
	'while :; do echo tick; sleep 0.5; done' >"$WORK/busy.out" 2>&1 || rc=$?
[ "$rc" -ne 124 ] || fail "the busy session was not ended by the device"
wait_state "$sid" ended 20
[ "$(end_reason "$sid")" = "maximum duration reached" ] || fail "busy: end_reason '$(end_reason "$sid")'"
[ "$(grep -c tick "$WORK/busy.out")" -ge 4 ] || fail "the busy session did not run: $(cat "$WORK/busy.out")"
[ $(( $(date +%s) - start )) -ge 5 ] || fail "the busy session ended too early"
pass "a busy session ends with 'maximum duration reached' at the server"
expect_contains "$(agent_audit_detail session_limit)" "\"session\":\"$sid\",\"limit\":\"max_duration\"" \
	"session_limit max_duration audited on the device"
# The worker closes the shell once the agent has told the server, so its
# shell_end may follow the server's end by a moment.
wait_for 10 sh -c "grep -q '\"action\":\"shell_end\".*$sid' '$AGENT_DIR/state/audit.log'" ||
	fail "no shell_end audited for $sid"
expect_contains "$(agent_audit_detail shell_end | grep "$sid")" '"sha256"' "the shell it ran was closed and audited"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device audit chain broken"

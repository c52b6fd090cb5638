#!/bin/sh
# Predefined diagnostics run without a shell: `tether diag DEVICE NAME`
# asks for diag:NAME, the agent execs the configured argv literally (shell
# metacharacters reach the program untouched), prints its output, returns
# its exit status and audits diag_run with the output's SHA-256. A
# diagnostic the ticket does not grant, and any other command, are refused.
. "$(dirname "$0")/lib.sh"

AGENT_EXTRA_CONF='diag.args = /bin/echo one;two $HOME `id` *
diag.fails = /bin/false
diag.uptime = /bin/cat /proc/uptime'
full_stack 1
setup_askpass "$SUPPORT_PW"

# run_diag NAME: tether diag in the background, the operator accepts.
run_diag() {
	rc=0
	tether diag "$SERIAL" "$1" --reason "TCK-415 $1" >"$WORK/diag.out" 2>"$WORK/diag.err" &
	dpid=$!
	sid=$(pending_session_id)
	agent_consent accept "$sid" >/dev/null || fail "accept"
	wait "$dpid" || rc=$?
}

run_diag args
[ "$rc" -eq 0 ] || fail "tether diag args returned $rc: $(cat "$WORK/diag.err")"
[ "$(cat "$WORK/diag.out")" = 'one;two $HOME `id` *' ] ||
	fail "the argv was not passed literally: $(cat "$WORK/diag.out")"
pass "argv exec'd literally, no shell"
run=$(agent_audit_detail diag_run | tail -1)
[ "$(printf '%s' "$run" | jq -c .argv)" = '["/bin/echo","one;two","$HOME","`id`","*"]' ] ||
	fail "diag_run argv: $run"
[ "$(printf '%s' "$run" | jq -r .sha256)" = "$(sha256sum <"$WORK/diag.out" | cut -d' ' -f1)" ] ||
	fail "diag_run sha256 does not match the output: $run"
[ "$(printf '%s' "$run" | jq -r .output_bytes)" = "$(wc -c <"$WORK/diag.out")" ] ||
	fail "diag_run output_bytes: $run"
[ "$(printf '%s' "$run" | jq -r '.name + " " + (.exit_status | tostring)')" = "args 0" ] ||
	fail "diag_run name/exit_status: $run"
pass "diag_run audited with argv, size and sha256"

run_diag fails
[ "$rc" -eq 1 ] || fail "tether diag fails returned $rc, want 1"
[ "$(agent_audit_detail diag_run | tail -1 | jq -r .exit_status)" = 1 ] || fail "exit status not audited"
pass "the diagnostic's exit status comes back and is audited"

# One session granted diag:args only: other names and commands are refused.
sid=$(request_actions "TCK-415 probes" diag:args)
consent_session "$sid"
ssh_master "$sid"
out=$(device_ssh device args 2>&1) || fail "the granted diagnostic failed: $out"
expect_contains "$out" 'one;two' "granted diagnostic runs over plain ssh"
for cmd in uptime 'args; id' 'args ' '/bin/echo hi' id; do
	if out=$(device_ssh device "$cmd" 2>&1); then
		fail "'$cmd' ran: $out"
	fi
	expect_not_contains "$out" "uid=" "'$cmd' refused"
done
expect_contains "$(agent_audit_detail diag_refused)" '"command":"uptime"' "ungranted diagnostic audited"
expect_contains "$(agent_audit_detail exec_refused)" '"command":"args; id"' "arbitrary command audited"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device audit chain broken"

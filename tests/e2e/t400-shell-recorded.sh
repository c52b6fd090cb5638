#!/bin/sh
# A session granted "shell": `tether ssh -- -tt` runs commands in a PTY shell
# on the device; the shell's output is recorded as a valid asciicast v2 file
# (0600) whose SHA-256 is the one in the device's audit record shell_end.
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3    # a shell is a level 3 permission (policy.conf)

full_stack 1
setup_askpass "$SUPPORT_PW"
printf 'echo "marker-$((6*7))"\necho "session=$TETHER_SESSION"\nexit 3\n' >"$WORK/input"
tether ssh "$SERIAL" --reason "TCK-400 shell" -- -tt <"$WORK/input" >"$WORK/ssh.out" 2>"$WORK/ssh.err" &
SSH_PID=$!
PIDS="$PIDS $SSH_PID"
sid=$(pending_session_id)
expect_contains "$(agent_consent list)" "actions:  shell" "the operator sees that a shell is asked for"
agent_consent accept "$sid" >/dev/null || fail "accept"
rc=0
wait "$SSH_PID" || rc=$?
[ "$rc" -eq 3 ] || fail "tether ssh returned $rc, want the shell's exit status 3: $(cat "$WORK/ssh.err")"
pass "the shell's exit status comes back through tether ssh"
expect_contains "$(cat "$WORK/ssh.out")" "marker-42" "the command ran in the device shell"
expect_contains "$(cat "$WORK/ssh.out")" "session=$sid" "TETHER_SESSION is set in the shell"

wait_for 10 sh -c "jq -r 'select(.action == \"shell_end\")' '$AGENT_DIR/state/audit.log' | grep -q ." ||
	fail "no shell_end in the device audit"
end=$(agent_audit_detail shell_end)
cast=$(printf '%s' "$end" | jq -r .recording)
[ -f "$cast" ] || fail "recording $cast missing"
case "$cast" in "$AGENT_DIR/state/recordings/$sid-"*.cast) pass "recording under state_dir/recordings" ;;
*) fail "recording at unexpected path $cast" ;; esac
[ "$(stat -c %a "$cast")" = 600 ] || fail "recording mode $(stat -c %a "$cast"), want 600"
[ "$(stat -c %a "$AGENT_DIR/state/recordings")" = 700 ] || fail "recordings dir not 0700"
pass "recording 0600 in a 0700 folder"

# asciicast v2: a header object, then [time, "o"|"r", text] events.
head -1 "$cast" | jq -e '.version == 2 and (.width | type) == "number" and
	(.height | type) == "number" and (.timestamp | type) == "number" and
	.env.TERM != null and .env.SHELL == "/bin/sh" and (.title | contains("'"$sid"'"))' >/dev/null ||
	fail "bad asciicast header: $(head -1 "$cast")"
tail -n +2 "$cast" | jq -e -s 'length > 0 and all(.[]; type == "array" and length == 3 and
	(.[0] | type) == "number" and (.[1] == "o" or .[1] == "r") and (.[2] | type) == "string")' >/dev/null ||
	fail "bad asciicast events"
pass "the recording is valid asciicast v2"
# Events split the output wherever the PTY read did: join them (-j) before
# looking. The output may share a line with the shell's prompt, since the
# terminal echoed the typed lines before the shell read them; the echo shows
# marker-$((6*7)), so only the command's output holds marker-42.
tail -n +2 "$cast" | jq -j 'select(.[1] == "o") | .[2]' | tr -d '\r' >"$WORK/replay"
grep -q 'marker-42' "$WORK/replay" || fail "the recording lacks the command's output"
pass "the recording holds the shell's output"

want=$(printf '%s' "$end" | jq -r .sha256)
got=$(sha256sum "$cast" | cut -d' ' -f1)
[ "$want" = "$got" ] || fail "audit sha256 $want != file sha256 $got"
pass "shell_end's sha256 matches the recording"
[ "$(printf '%s' "$end" | jq -r .exit_status)" = 3 ] || fail "shell_end exit_status: $end"
[ "$(printf '%s' "$end" | jq -r .session)" = "$sid" ] || fail "shell_end session: $end"
agent_audit_detail shell_start | grep -q "$sid" || fail "no shell_start audited"
pass "shell_start and shell_end audited"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device audit chain broken"

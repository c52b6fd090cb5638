#!/bin/sh
# What an operator reads cannot be spoofed: a right-to-left override
# (U+202E) or a C1 control (U+009B, CSI) is refused wherever text enters
# (the CLI, the API, the admin commands), naming the field; text that got
# into the database some other way is escaped where the CLI prints it, and
# the agent drops a request carrying it rather than show it.
. "$(dirname "$0")/lib.sh"

RLO=$(printf '\342\200\256')
CSI=$(printf '\302\233')
full_stack 1

# the CLI refuses before sending, and says which option and why
for bad in "TCK-1 ${RLO}gnp.exe" "TCK-1 ${CSI}31m red"; do
	rc=0
	out=$(tether session request "$SERIAL" --reason "$bad" 2>&1) || rc=$?
	[ "$rc" -eq 2 ] || fail "session request with a spoofing reason exited $rc: $out"
	expect_contains "$out" "--reason is refused" "the CLI names the field it refuses"
done
expect_contains "$out" "C1 control" "the CLI says what it found"

# the API refuses the same, with a 400 naming the field
out=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-1 \\u202egnp.exe\"}")
expect_contains "$out" 'field \"reason\" is refused' "the API names the refused field"
expect_contains "$out" "bidirectional override" "the API says it is a bidirectional override"
out=$(api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-1 \\u009b31m\"}")
expect_contains "$out" "C1 control" "the API refuses a C1 control"
[ -z "$(tether-server sessions --dir "$SRV" 2>/dev/null | grep TCK-1 || true)" ] ||
	fail "a refused request left a session behind"

# the admin commands refuse it too, naming the option
rc=0
out=$(tether-server site add st-evil --customer "St ${RLO}latipsoH" \
	--contract-until "$(date_in_days 30)" --dir "$SRV" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "site add accepted a customer name with U+202E"
expect_contains "$out" "--customer is refused" "site add names the refused option"
rc=0
out=$(tether-server device revoke "$SERIAL" --reason "stolen${CSI}2J" --dir "$SRV" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "device revoke accepted a reason with a C1 control"
expect_contains "$out" "--reason is refused" "device revoke names the refused option"

# what a device reports (the operator's end reason) is held to the same rule
sid=$(tether session request "$SERIAL" --reason "TCK-2 plain")
[ -n "$sid" ] || fail "no session id"
out=$(device_api "$AGENT_DIR/state" POST /api/v1/device/session-end \
	"{\"session\":\"$sid\",\"reason\":\"done \\u2066thanks\"}")
expect_contains "$out" 'field \"reason\" is refused' "a device's end reason with an isolate is refused"
expect_contains "$out" "isolate" "the device is told it was an isolate"

# text already in the database (an older row) is escaped on output
sqlite3 "$SRV/tether.db" "UPDATE sessions SET reason = 'TCK-2 ' || char(8238) || 'gnp.exe' WHERE id = '$sid';
UPDATE devices SET customer = 'St ' || char(155) || '2J Example' WHERE serial = '$SERIAL';"
out=$(tether session status "$sid")
expect_contains "$out" 'TCK-2 \u202egnp.exe' "session status shows the override as an escape"
expect_not_contains "$out" "$RLO" "session status never prints the override raw"
out=$(tether devices)
expect_contains "$out" 'St \u009b2J Example' "devices shows the C1 control as an escape"
expect_not_contains "$out" "$CSI" "devices never prints the C1 control raw"
out=$(tether --json session status "$sid")
expect_not_contains "$out" "$RLO" "--json output is ASCII"
agent_consent deny "$sid" >/dev/null 2>&1 || true

# the agent checks what the server sends: a user region with U+202E (an old
# row) makes it drop the request, which never reaches the operator's screen
# (region.default allows it past the region rules)
sqlite3 "$SRV/tether.db" "UPDATE users SET region = 'US' || char(8238) WHERE name = '$SPEC_USER';"
sed -i 's/^region.default *=.*/region.default = allow/' "$SRV/policy.conf"
restart_server
wait_online 60
sid=$(tether session request "$SERIAL" --reason "TCK-3 region check")
[ -n "$sid" ] || fail "no session id"
wait_for 30 grep -q "malformed session_request ignored" "$WORK/agent.log" ||
	fail "the agent did not drop a request with a spoofing region"
pass "the agent drops a request carrying a bidirectional override"
out=$(agent_consent list)
expect_not_contains "$out" "$sid" "the dropped request is not on the operator's screen"
expect_not_contains "$out" "$RLO" "nothing raw on the operator's screen"

#!/bin/sh
# A revoked (or replaced) device comes back with `tether-server device
# reissue-token`: its old certificate is refused from that moment, the agent
# enrolls again from an empty state folder with a new key and certificate,
# and pings with it, while the old certificate stays refused.
. "$(dirname "$0")/lib.sh"

deploy 1
start_device_service
agent_setup "$SERIAL"
wait_log "$WORK/server.log" "POST /api/v1/ping 200" 30
cp -a "$AGENT_DIR/state" "$WORK/old-state"
old_fp=$(openssl x509 -in "$WORK/old-state/device.crt" -noout -fingerprint -sha256)

out=$(tether-server device reissue-token NO-SUCH --dir "$SRV" 2>&1) &&
	fail "reissue-token for an unknown serial succeeded"
expect_contains "$out" "no device with this serial" "an unknown serial is refused plainly"

tether-server device revoke "$SERIAL" --reason "TCK-751 board replaced" --dir "$SRV" \
	>/dev/null 2>&1 || fail "device revoke"
wait_log "$WORK/agent.log" "device_revoked" 30
token=$(tether-server device reissue-token "$SERIAL" --dir "$SRV" 2>"$WORK/reissue.log") ||
	fail "reissue-token: $(cat "$WORK/reissue.log")"
[ -n "$token" ] || fail "reissue-token printed no token"
expect_contains "$(cat "$WORK/reissue.log")" "old certificate is refused" "reissue says what it did"
expect_contains "$(tether-server device list --dir "$SRV" | grep "^$SERIAL ")" "registered" \
	"the device is registered again"
out=$(device_api "$WORK/old-state" POST /api/v1/ping '{}')
expect_contains "$out" "unknown_certificate" "the old certificate is refused once reissued"
audit_has device_reissue_token "\"was\":\"revoked\"" "the reissue"

# the agent enrolls again, from an empty state folder: a new key
kill "$PID_agent" 2>/dev/null || true
wait_for 10 sh -c "! kill -0 $PID_agent" || fail "the old agent did not stop"
rm -rf "$AGENT_DIR/state"
tether-agent enroll --config "$AGENT_DIR/tether-agent.conf" --token "$token" \
	--ca-fingerprint "$CA_FP" --support-password-file "$WORK/support-pw" \
	>"$WORK/enroll-2.log" 2>&1 || fail "enroll again: $(cat "$WORK/enroll-2.log")"
[ -z "${agent_user:-}" ] || chown -R "$agent_user:" "$AGENT_DIR/state"
new_fp=$(openssl x509 -in "$AGENT_DIR/state/device.crt" -noout -fingerprint -sha256)
[ "$new_fp" != "$old_fp" ] || fail "the device was enrolled again with the same certificate"
pass "a new certificate"
cmp -s "$AGENT_DIR/state/device.key" "$WORK/old-state/device.key" &&
	fail "the device was enrolled again with the same key"
pass "a new key"
before=$(log_lines "$WORK/server.log" "POST /api/v1/ping 200")
bg agent-2 tether-agent run --config "$AGENT_DIR/tether-agent.conf"
wait_for 30 sh -c "[ \$(grep -F -c 'POST /api/v1/ping 200' '$WORK/server.log') -gt $before ]" ||
	fail "the enrolled-again device never pinged: $(tail -5 "$WORK/agent-2.log")"
pass "the device pings with its new certificate"
expect_contains "$(tether-server device list --dir "$SRV" | grep "^$SERIAL ")" "enrolled" \
	"the device is enrolled again"
out=$(device_api "$WORK/old-state" POST /api/v1/ping '{}')
expect_contains "$out" "unknown_certificate" "the old certificate stays refused"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the audit chain broke"
pass "device re-enrollment"

#!/bin/sh
# A database write-locked by another process for some seconds: calls that
# must write are answered at once with 503 and Retry-After (never a 401 that
# sends the user to log in again), reads and the device's pings keep being
# answered, and everything works again once the lock is gone.
. "$(dirname "$0")/lib.sh"

full_stack 1
expect_contains "$(http_status "$WORK/before" GET /api/v1/devices)" 200 "devices are listed before the lock"

db_lock 6
# A call that must write is refused at once, saying why.
code=$(http_status "$WORK/locked" POST /api/v1/sessions \
	"{\"device\":\"$SERIAL\",\"reason\":\"TCK-650 locked\",\"services\":[\"http\"]}")
[ "$code" = 503 ] || fail "a session request during the lock got $code, not 503: $(cat "$WORK/locked")"
expect_not_contains "$(cat "$WORK/locked")" "log in again" "the user is not sent to log in again"
expect_contains "$(cat "$WORK/locked")" "locked" "the answer says the database is locked"
grep -qi '^Retry-After: [0-9]' "$WORK/locked.hdr" || fail "no Retry-After: $(cat "$WORK/locked.hdr")"
pass "a write to a locked store answers 503 with Retry-After"
out=$(tether session request "$SERIAL" --reason "TCK-650 locked" 2>&1) &&
	fail "a session request succeeded during the lock: $out"
expect_not_contains "$out" "log in again" "the CLI does not tell the user to log in again"
expect_contains "$out" "503" "the CLI shows the 503"
# A read needs no lock: the token is checked and the devices listed.
code=$(http_status "$WORK/read" GET /api/v1/devices)
[ "$code" = 200 ] || fail "a read during the lock got $code: $(cat "$WORK/read")"
pass "an unrelated read is served during the lock"

# The device's ping needs no write to be answered.
ping='{"version":"test","status":"ok","wait":false,"services":[{"name":"http","port":9}]}'
out=$(device_api "$AGENT_DIR/state" POST /api/v1/ping "$ping")
expect_contains "$out" '"events"' "a ping during the lock is answered"
[ -f "$WORK/db-lock.done" ] || pass "(the lock was still held)"

wait_for 20 test -f "$WORK/db-lock.done" || fail "the lock was never released"
wait_for 10 sh -c "tether --json devices 2>/dev/null | grep -q '\"online\": *true'" ||
	fail "the device is not online after the lock: $(tether --json devices 2>&1)"
pass "after the lock the same login lists the device, online"
grep -q 'POST /api/v1/ping 200' "$WORK/server.log" || fail "no ping was answered"
tether-server audit verify --dir "$SRV" >/dev/null 2>&1 || fail "the server's audit chain does not verify"
pass "the server's audit chain verifies"

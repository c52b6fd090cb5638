#!/bin/sh
# A database locked by another process for some seconds: API calls are
# answered at once with 503 and Retry-After (never a 401 that sends the user
# to log in again), the device's pings keep being answered, and everything
# works again once the lock is gone.
. "$(dirname "$0")/lib.sh"

full_stack 1
expect_contains "$(http_status "$WORK/before" GET /api/v1/devices)" 200 "devices are listed before the lock"

db_lock 8
code=$(http_status "$WORK/locked" GET /api/v1/devices)
[ "$code" = 503 ] || fail "a call during the lock got $code, not 503: $(cat "$WORK/locked")"
expect_not_contains "$(cat "$WORK/locked")" "log in again" "the user is not sent to log in again"
expect_contains "$(cat "$WORK/locked")" "locked" "the answer says the database is locked"
grep -qi '^Retry-After: [0-9]' "$WORK/locked.hdr" || fail "no Retry-After: $(cat "$WORK/locked.hdr")"
pass "a locked store answers 503 with Retry-After"
out=$(tether devices 2>&1) && fail "tether devices succeeded during the lock: $out"
expect_not_contains "$out" "log in again" "the CLI does not tell the user to log in again"

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

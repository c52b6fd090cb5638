#!/bin/sh
# Hang supervision: under tests/harness/notifyd, which plays systemd's
# Type=notify with WatchdogSec and Restart=on-failure, the server says
# READY=1 and pings the watchdog from its event loop. Frozen with SIGSTOP,
# it misses the watchdog; notifyd kills it and starts it again, and the
# service resumes: the CLI's next call works against the new process.
. "$(dirname "$0")/lib.sh"

deploy 1
kill "$PID_server"
wait_for 20 sh -c "! kill -0 $PID_server" || fail "the server did not stop"
under_notifyd srvwd 3000 tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
wait_for 20 grep -q ': READY=1$' "$WORK/srvwd.notify" || fail "the server never said READY=1"
pass "the server says READY=1 once it serves"
cli_login
[ "$(api_code GET /api/v1/devices)" = 200 ] || fail "the API does not answer under notifyd"
sleep 4                         # longer than the watchdog: pings keep it alive
OLD=$(cat "$WORK/srvwd.pid")
kill -0 "$OLD" || fail "the watchdog killed a server that was serving"
expect_not_contains "$(cat "$WORK/srvwd.notify")" "watchdog timeout" \
	"a serving server is not killed by the watchdog"

kill -STOP "$OLD"
wait_log "$WORK/srvwd.notify" "watchdog timeout: pid $OLD" 30
pass "the frozen server missed its watchdog and was killed"
wait_for 30 sh -c "[ \$(grep -c ': READY=1\$' '$WORK/srvwd.notify') -ge 2 ]" ||
	fail "the server was not started again"
NEW=$(cat "$WORK/srvwd.pid")
[ "$NEW" != "$OLD" ] || fail "no new server process"
pass "the server was restarted ($OLD -> $NEW) and said READY=1"
wait_for 30 sh -c "[ \"\$(tether --json devices >/dev/null 2>&1 && echo ok)\" = ok ]" ||
	fail "the CLI does not work against the restarted server"
[ "$(api_code GET /api/v1/devices)" = 200 ] || fail "the API does not answer after the restart"
pass "service resumed after the restart"

# SIGTERM through notifyd: STOPPING=1 and a clean stop, not a restart.
kill -TERM "$PID_srvwd"
wait_for 30 sh -c "! kill -0 $PID_srvwd" || fail "notifyd did not stop"
expect_contains "$(cat "$WORK/srvwd.notify")" ": STOPPING=1" "the server says STOPPING=1"
expect_contains "$(cat "$WORK/srvwd.notify")" "pid $NEW exited 0" "and exits 0"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the server's chain does not verify"
pass "the server's chain verifies after the kill and the restart"

#!/bin/sh
# SIGKILL of the server under load (a forwarded session carrying traffic,
# API calls): what it acknowledged is kept (its audit records, the session),
# its audit chain verifies, and recovery needs no help: restarted, the agent
# reconnects by itself and a new session works.
. "$(dirname "$0")/lib.sh"

full_stack 1
LPORT=$(free_port)
start_forward "$LPORT"
FIRST=$SESSION
load_start "$LPORT"
sleep 2
tether-server audit list --dir "$SRV" >"$WORK/audit.before"
grep -q "session_active" "$WORK/audit.before" || fail "no session_active record before the kill"

kill -9 "$PID_server"
wait_for 10 sh -c "! kill -0 $PID_server 2>/dev/null" || fail "the server did not die"
load_stop
bg server-2 tether-server run --dir "$SRV"
PID_server=$PID_server_2
wait_port "$SERVER_PORT"

audit_prefix_kept "$WORK/audit.before"
expect_contains "$(tether-server audit verify --dir "$SRV")" "intact" "server audit chain verifies after SIGKILL"
expect_contains "$(tether --json session status "$FIRST")" "$FIRST" "the session acknowledged before the kill is kept"
wait_online 40
pass "the agent reconnected by itself"

# The old session ends through the relay's report; then a new one works.
kill "$PID_forward"
wait_state "$FIRST" ended 30
LPORT2=$(free_port)
start_forward "$LPORT2"
expect_contains "$(fetch "$LPORT2")" "nominal" "a new session works after the server's SIGKILL"

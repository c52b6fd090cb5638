#!/bin/sh
# A relay that freezes after the server chose it for a session (the health
# check has not seen it yet): both legs give up on it within their 5 s
# deadline and say so, the server moves the consented session to the other
# relay once, and the session works there, with no second consent. The move
# is in the server's trail and the device's audit says which relay failed.
. "$(dirname "$0")/lib.sh"

full_stack 2
# The background health check must not see the freeze first: then the
# server would never hand out relay-1, and nothing would need to move.
set_server_conf relay_check.interval_s 3600
restart_server
wait_relay_up relay-1 "$WORK/server-2.log"
wait_relay_up relay-2 "$WORK/server-2.log"
wait_online
kill -STOP "$PID_relay_1"

# The first session after a start goes to relay-1 (round robin from the
# first relay); if it went to relay-2 no move happens and the checks of the
# trail below fail.
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "device page fetched with relay-1 frozen under the session"
kill -CONT "$PID_relay_1"
expect_contains "$(tether --json session status "$SESSION")" '"relay": "relay-2"' \
	"the session is on relay-2 now"

tether-server audit list --dir "$SRV" | grep session_relay_moved | grep "$SESSION" >"$WORK/moved" || true
[ "$(wc -l <"$WORK/moved")" -eq 1 ] ||
	fail "want one session_relay_moved record for the session, got: $(cat "$WORK/moved")"
expect_contains "$(cat "$WORK/moved")" '"from":"relay-1","to":"relay-2"' \
	"the server's trail records the move from relay-1 to relay-2"
expect_contains "$(agent_audit_detail relay_failed)" "session $SESSION relay relay-1" \
	"the device's audit names the relay that failed it"
expect_not_contains "$(agent_audit_detail session_end)" "$SESSION" \
	"the device did not end the session over the frozen relay"
expect_contains "$(tether-server audit verify --dir "$SRV")" "intact" "server audit chain verifies"

#!/bin/sh
# The server's trail is SQLite rows, one transaction each: nothing can be
# torn, but an edited chain is found when the server starts, and it refuses
# to run on it with the reason; with the chain whole again it starts.
. "$(dirname "$0")/lib.sh"

deploy 1
kill "$PID_server"
wait_for 20 sh -c "! kill -0 $PID_server" || fail "the server did not stop"
actor=$(sqlite3 "$SRV/tether.db" "SELECT actor FROM audit WHERE seq = 3")
sqlite3 "$SRV/tether.db" "UPDATE audit SET actor = 'mallory' WHERE seq = 3"
if out=$(timeout 30 tether-server run --dir "$SRV" 2>&1); then
	fail "the server ran on an edited trail: $out"
fi
expect_contains "$out" "chain is broken: record 3" "the server refuses an edited trail, naming the record"
expect_contains "$out" "not starting" "and says it does not start"
sqlite3 "$SRV/tether.db" "UPDATE audit SET actor = '$actor' WHERE seq = 3"
bg server-2 tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
expect_contains "$(cat "$WORK/server-2.log")" "chain intact" "the server checked its trail at start"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the restored chain does not verify"
pass "with the chain whole again the server starts"

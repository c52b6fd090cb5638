#!/bin/sh
# The server at its descriptor limit. Started with a soft limit below its
# hard one (as systemd's default 1024:524288), it raises the soft limit to
# the hard one and derives its connection limit from it, keeping room for
# the store, logs and relay checks. A flood of connections then fills that
# limit (the per-address limits are lifted so that one address stands for
# many agents): the server refuses the excess with one summary line per
# interval, its log stays small, a connection opened before the flood is
# still served during it, and once the flood ends the device pings again
# and the API and a session work.
. "$(dirname "$0")/lib.sh"

SOFT=100 HARD=300
[ "$(ulimit -Hn)" -ge 2000 ] || ulimit -Hn 2000 2>/dev/null ||
	skip "need a hard RLIMIT_NOFILE of 2000 for the flood (have $(ulimit -Hn))"
full_stack 1
for k in limits.max_connections_per_addr limits.max_handshakes_per_addr; do
	set_server_conf "$k" 1000000
done
# A held ping is logged when answered: a short hold shows the device's pings
# after the flood within the wait below (the default hold is 150 s).
set_server_conf longpoll_s 10
kill "$PID_server"
wait_for 20 sh -c "! kill -0 $PID_server" || fail "the server did not stop"
bg server-lim prlimit --nofile=$SOFT:$HARD tether-server run --dir "$SRV"
PID_server=$PID_server_lim
wait_port "$SERVER_PORT"
SLOG="$WORK/server-lim.log"
expect_contains "$(cat "$SLOG")" "descriptors: soft limit raised from $SOFT to the hard limit $HARD" \
	"the server raises its soft descriptor limit to the hard one"
max=$(sed -n 's/.*https: at most \([0-9]*\) connections.*/\1/p' "$SLOG")
[ -n "$max" ] && [ "$max" -gt $SOFT ] && [ "$max" -lt $((HARD - 64)) ] ||
	fail "the connection limit ($max) is not derived from the raised limit with room kept"
pass "the connection limit ($max) is derived from $HARD, with room for the store and logs"
wait_online 60

# A connection opened before the flood: one request now, one during it.
mkfifo "$WORK/held.in"
{
	timeout 60 openssl s_client -quiet -connect "127.0.0.1:$SERVER_PORT" \
		-CAfile "$SRV/ca/root.crt" -servername 127.0.0.1 <"$WORK/held.in" \
		>"$WORK/held.out" 2>"$WORK/held.err" || true
} &
PIDS="$PIDS $!"
exec 7>"$WORK/held.in"
req='GET /api/v1/ca HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
printf '%b' "$req" >&7
wait_for 20 grep -q "BEGIN CERTIFICATE" "$WORK/held.out" || fail "the held connection got no answer"
log_before=$(wc -c <"$SLOG")
pings_before=$(log_lines "$SLOG" "POST /api/v1/ping")

bg flood tether-test-flood hold 127.0.0.2 "$SERVER_PORT" $((HARD * 3)) 8
wait_for 30 grep -q ready "$WORK/flood.log" || fail "the flood did not start"
wait_log "$SLOG" "https: $max connections open, the limit: accept paused" 20
pass "at its limit the server pauses accept and says so"
printf '%b' "$req" >&7
wait_for 20 sh -c "[ \$(grep -c 'BEGIN CERTIFICATE' '$WORK/held.out') -ge 2 ]" ||
	fail "the connection opened before the flood was not served during it"
pass "a connection opened before the flood is still served during it"
exec 7>&-

wait_for 40 grep -q "opened" "$WORK/flood.log" || fail "the flood did not end"
grown=$(( $(wc -c <"$SLOG") - log_before ))
log "the server's log grew by $grown bytes during the flood"
[ "$grown" -lt 65536 ] || fail "the log grew by $grown bytes (limit 64 KiB)"
pass "the server's log stayed small ($grown bytes)"
expect_not_contains "$(cat "$SLOG")" "Too many open files" "the server never ran out of descriptors"

wait_for 60 sh -c "[ \$(grep -c 'POST /api/v1/ping' '$SLOG') -gt $pings_before ]" ||
	fail "the device did not ping again after the flood"
wait_online 60
pass "the device pings and is online after the flood"
[ "$(api_code GET /api/v1/devices)" = 200 ] || fail "the API does not answer after the flood"
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "a session works after the flood"
kill -0 "$PID_server" || fail "the server stopped"

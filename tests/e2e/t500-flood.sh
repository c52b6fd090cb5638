#!/bin/sh
# One address holds 2,000 half-open connections to the server and 2,000 to
# the relay; a session from another address still starts and completes, and
# the daemons' logs stay small. FLOOD_LIMITS_OFF=1 lifts the per-address
# limits (to show the test failing without them).
. "$(dirname "$0")/lib.sh"

# The daemons get systemd's default descriptor limit; the flood helper
# raises its own soft limit up to the hard one.
[ "$(ulimit -Hn)" -ge 4200 ] || ulimit -Hn 4200 2>/dev/null ||
	fail "need a hard RLIMIT_NOFILE of 4200 for the flood (have $(ulimit -Hn))"
ulimit -Sn 1024
full_stack 1
if [ -n "${FLOOD_LIMITS_OFF:-}" ]; then
	for k in limits.max_connections_per_addr limits.max_handshakes_per_addr; do
		set_server_conf "$k" 1000000
	done
	printf 'limits.max_legs_per_addr = 1000000\nlimits.max_handshakes_per_addr = 1000000\n' \
		>>"$SRV/relays/relay-1/tether-relay.conf"
	restart_server
	kill "$PID_relay_1"
	wait_for 10 sh -c "! kill -0 $PID_relay_1" || fail "relay-1 did not stop"
	bg relay-1 tether-relay run --config "$SRV/relays/relay-1/tether-relay.conf"
	wait_port "$RELAY_1_DEVICE_PORT"
	wait_online 60
fi
logs_before=$(cat "$WORK"/server*.log "$WORK"/relay-1.log | wc -c)

# 127.0.0.2 is another loopback source address: the legitimate parties
# below come from 127.0.0.1.
bg flood-server tether-test-flood hold 127.0.0.2 "$SERVER_PORT" 2000 90
bg flood-relay tether-test-flood hold 127.0.0.2 "$RELAY_1_DEVICE_PORT" 2000 90
wait_for 30 grep -q ready "$WORK/flood-server.log" || fail "server flood did not start"
wait_for 30 grep -q ready "$WORK/flood-relay.log" || fail "relay flood did not start"

LPORT=$(free_port)
start_ns=$(date +%s%N)
setup_askpass
bg forward tether forward "$SERIAL" "$LPORT:http" --reason "TCK-9 under flood"
sid=$(pending_session_id)
agent_consent accept "$sid" >"$WORK/accept.log" 2>&1 || fail "operator accept failed"
# Bounded by the test's own waits (60 s); the issue's target is 2 s.
wait_for 60 sh -c "tether --json session status $sid | grep -q '\"state\": *\"active\"'" ||
	fail "the session did not start under the flood (state $(session_state "$sid"))"
took_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
log "session started ${took_ms} ms after the request, under the flood"
pass "a legitimate session starts while one address floods both daemons"
wait_port "$LPORT" 30
expect_contains "$(fetch "$LPORT")" "nominal" "the session carries the device page under the flood"

logs_after=$(cat "$WORK"/server*.log "$WORK"/relay-1.log | wc -c)
grown=$((logs_after - logs_before))
log "the daemons' logs grew by $grown bytes"
[ "$grown" -lt 1048576 ] || fail "logs grew by $grown bytes (limit 1 MiB)"
pass "the logs grew by less than 1 MiB"
expect_contains "$(cat "$WORK"/server*.log)" "https: refused connections over the limits" \
	"the server summarises the refusals"
expect_contains "$(cat "$WORK/relay-1.log")" "relay: refused connections over the limits" \
	"the relay summarises the refusals"

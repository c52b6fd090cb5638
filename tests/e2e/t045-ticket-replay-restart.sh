#!/bin/sh
# A ticket used before a relay restart is refused after it (the relay keeps
# used nonces in memory only), and a session started after the restart works.
. "$(dirname "$0")/lib.sh"

full_stack 1
sid=$(tether session request "$SERIAL" --reason "TCK-8 replay across restart")
consent_session "$sid"
resp=$(api POST "/api/v1/sessions/$sid/connect")
ticket=$(printf '%s' "$resp" | sed -n 's/.*"ticket": *"\([^"]*\)".*/\1/p')
port=$(printf '%s' "$resp" | sed -n 's/.*"client_port": *\([0-9]*\).*/\1/p')
[ -n "$ticket" ] && [ -n "$port" ] || fail "no ticket in $resp"
expect_contains "$(relay_leg "$port" "TETHER/1 client $ticket")" "OK" "first use accepted"

kill "$PID_relay_1"
wait_for 10 sh -c "! kill -0 $PID_relay_1" || fail "relay-1 did not stop"
bg relay-1-again tether-relay run --config "$SRV/relays/relay-1/tether-relay.conf"
wait_port "$RELAY_1_DEVICE_PORT"

again=$(relay_leg "$port" "TETHER/1 client $ticket")
expect_contains "$again" "ERR before_restart" "the captured ticket is refused after the restart"
expect_contains "$again" "issued before this relay started" "the answer says why"
expect_contains "$(cat "$WORK/relay-1-again.log")" "before_restart" "the relay logs the refusal"
expect_contains "$(grep leg_refused "$SRV"/relays/relay-1/audit.log)" "before_restart" \
	"the relay audits the refusal"

# A new session, consented after the restart, goes through the same relay.
# The first one is a visit that outlives its connection: end it first.
tether session end "$sid" >/dev/null || fail "could not end the first session"
# The server's health check may have seen the relay down while it restarted;
# a consent before it sees it up again is refused "no relay reachable".
wait_relay_up relay-1
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "a session after the restart works"

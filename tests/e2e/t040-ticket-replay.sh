#!/bin/sh
# A client ticket works once; the same ticket again is refused by the relay.
. "$(dirname "$0")/lib.sh"

full_stack 1
sid=$(tether session request "$SERIAL" --reason "TCK-3 replay")
wait_consent_pending "$sid"
agent_consent accept "$sid" >/dev/null
tether session wait "$sid" --timeout 30 >/dev/null || fail "session not consented"

resp=$(api POST "/api/v1/sessions/$sid/connect")
ticket=$(printf '%s' "$resp" | sed -n 's/.*"ticket": *"\([^"]*\)".*/\1/p')
port=$(printf '%s' "$resp" | sed -n 's/.*"client_port": *\([0-9]*\).*/\1/p')
[ -n "$ticket" ] && [ -n "$port" ] || fail "no ticket in $resp"

again=$(api POST "/api/v1/sessions/$sid/connect")
expect_contains "$again" "ticket_issued" "the server issues one client ticket per session"

first=$(relay_leg "$port" "TETHER/1 client $ticket")
expect_contains "$first" "OK" "first use of the ticket accepted"
second=$(relay_leg "$port" "TETHER/1 client $ticket")
expect_contains "$second" "ERR replayed" "second use of the ticket refused"
expect_contains "$(cat "$SRV"/relays/relay-1/audit.log)" "replayed" "the relay audits the replay"

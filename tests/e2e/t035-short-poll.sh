#!/bin/sh
# With long-poll off (networks that cut long requests), the agent polls at its
# short-poll period, the server answers each ping at once, and a session
# request still reaches the operator.
. "$(dirname "$0")/lib.sh"

AGENT_LONGPOLL=no
AGENT_POLL_INTERVAL_S=2
full_stack 1
sid=$(tether session request "$SERIAL" --reason "TCK-10 short poll")
wait_consent_pending "$sid"
pass "the request reached the operator through a short poll"
agent_consent deny "$sid" >/dev/null
tether session wait "$sid" --timeout 30 >/dev/null 2>&1 && fail "denied session reported as consented"
pass "the operator's answer reached the server"

# The server logs each request with its duration: no ping is held open.
pings=$(grep 'POST /api/v1/ping 200' "$WORK/server.log")
[ "$(printf '%s\n' "$pings" | wc -l)" -ge 2 ] || fail "fewer than two pings seen"
held=$(printf '%s\n' "$pings" | awk '{ ms = $NF; sub(/ms$/, "", ms); if (ms + 0 > 1000) print }')
[ -z "$held" ] || fail "pings were held open in short-poll mode: $held"
pass "every ping was answered at once"

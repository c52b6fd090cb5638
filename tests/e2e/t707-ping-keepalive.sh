#!/bin/sh
# The agent's pings share one TLS connection (issue 12: every long-poll was a
# new connection and a full handshake, 4.6 KB a ping). With a 2 s hold, the
# server counts several pings but no new HTTPS connection (its
# tether_https_connections_total metric). The device is still checked at
# every ping on that kept connection: revoked, its next ping is refused
# (403 device_revoked) without a new connection. When the server restarts,
# the agent opens a new connection and carries on.
. "$(dirname "$0")/lib.sh"

deploy 1
MPORT=$(free_port)
set_server_conf longpoll_s 2
set_server_conf metrics_listen "127.0.0.1:$MPORT"
restart_server
wait_port "$MPORT"

metric() {
	curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics" |
		awk -v m="$1" '$1 == m { print $2 }'
}
pings_at_least() { [ "$(metric tether_pings_total)" -ge "$1" ]; }

agent_setup "$SERIAL"
wait_for 30 pings_at_least 2 || fail "the agent's pings never reached the server"
c0=$(metric tether_https_connections_total)
p0=$(metric tether_pings_total)
wait_for 40 pings_at_least $((p0 + 4)) || fail "fewer than 4 pings in 40 s with a 2 s hold"
c1=$(metric tether_https_connections_total)
p1=$(metric tether_pings_total)
log "pings $p0 -> $p1, HTTPS connections $c0 -> $c1"
[ $((c1 - c0)) -le 1 ] ||
	fail "$((p1 - p0)) pings took $((c1 - c0)) new HTTPS connections: not kept alive"
pass "$((p1 - p0)) pings on the kept connection ($((c1 - c0)) new)"

# a server restart closes the kept connection: the agent opens a new one
# and keeps it (the counters start again at zero)
restart_server
wait_port "$MPORT"
wait_for 40 pings_at_least 4 || fail "the agent did not ping again after the server restarted"
c1=$(metric tether_https_connections_total)
[ "$c1" -ge 1 ] && [ "$c1" -le 2 ] ||
	fail "after the restart: $c1 connections for $(metric tether_pings_total) pings"
pass "after a server restart the agent connects again and keeps that connection"

# revoked: the next ping on that same connection is refused
out=$(tether-server device revoke "$SERIAL" --reason "TCK-707 kept connection" \
	--dir "$SRV" 2>&1) || fail "device revoke failed: $out"
wait_for 20 grep -q "403 device_revoked" "$WORK/agent.log" ||
	fail "the agent's ping on its kept connection was not refused after the revocation"
c2=$(metric tether_https_connections_total)
[ $((c2 - c1)) -le 1 ] || fail "the refusal came after $((c2 - c1)) new connections"
pass "a revoked device is refused on its kept connection"

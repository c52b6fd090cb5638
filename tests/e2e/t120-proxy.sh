#!/bin/sh
# The agent reaches the server and the relay only through an HTTP CONNECT
# proxy with Basic credentials (tinyproxy): it enrolls, comes online and
# serves a forwarded session, and the proxy's log shows both tunnels. With a
# wrong proxy password the agent says so clearly and stays offline.
. "$(dirname "$0")/lib.sh"

command -v tinyproxy >/dev/null || fail "tinyproxy is not installed (scripts/deps installs it)"

PROXY_USER=tether
PROXY_PASS=pr0xyPassw0rd
deploy 1
start_device_service

start_proxy "$PROXY_PASS" "$SERVER_PORT" "$RELAY_1_DEVICE_PORT"

AGENT_PROXY="http://$PROXY_USER:$PROXY_PASS@127.0.0.1:$PROXY_PORT"
agent_setup "$SERIAL"
expect_contains "$(cat "$WORK/enroll.log")" "using proxy 127.0.0.1:$PROXY_PORT" "enroll reports the proxy"
cli_login
wait_for 30 sh -c "tether devices | grep '$SERIAL' | grep -q online" ||
	fail "device never came online through the proxy"
pass "device enrolled and came online through the proxy"

LPORT=$(free_port)
start_forward "$LPORT"
page=$(fetch "$LPORT")
expect_contains "$page" "device $SERIAL status page: all systems nominal" "device page fetched through the proxied tunnel"

plog=$(cat "$WORK/tinyproxy.log")
expect_contains "$plog" "CONNECT 127.0.0.1:$SERVER_PORT " "proxy log shows CONNECT to the server"
expect_contains "$plog" "CONNECT 127.0.0.1:$RELAY_1_DEVICE_PORT " "proxy log shows CONNECT to the relay device port"
alog=$(cat "$WORK/agent.log")
expect_contains "$alog" "using proxy 127.0.0.1:$PROXY_PORT" "agent logs the proxy it uses"
expect_not_contains "$alog$(cat "$WORK/enroll.log")" "$PROXY_PASS" "agent logs never show the proxy password"
kill "$PID_forward"

# A second device: a wrong proxy password fails enrollment with a clear
# error (the token stays unused); enrolled with the right one, it then runs
# with a wrong one and must stay offline.
SERIAL2=SN-0002
A2="$WORK/agent2"
mkdir -p "$A2"
write_conf2() {
	cat >"$A2/tether-agent.conf" <<CONF
server = https://127.0.0.1:$SERVER_PORT
serial = $SERIAL2
state_dir = $A2/state
consent_socket = $A2/consent.sock
longpoll = yes
support_user = support
service.http = 127.0.0.1:$SERVICE_PORT
proxy = http://$PROXY_USER:$1@127.0.0.1:$PROXY_PORT
${agent_user:+user = $agent_user}
CONF
}
token2=$(enroll_token "$SERIAL2")
[ -n "$token2" ] || fail "no enrollment token printed for $SERIAL2"
write_conf2 wrong-password
if tether-agent enroll --config "$A2/tether-agent.conf" --token "$token2" \
	--ca-fingerprint "$CA_FP" --support-password-file "$WORK/support-pw" \
	>"$WORK/enroll2-bad.log" 2>&1; then
	fail "enroll through the proxy with a wrong password succeeded"
fi
expect_contains "$(cat "$WORK/enroll2-bad.log")" "proxy authentication required" "enroll with a wrong proxy password says so"
expect_not_contains "$(cat "$WORK/enroll2-bad.log")" "wrong-password" "enroll error does not show the password"

write_conf2 "$PROXY_PASS"
tether-agent enroll --config "$A2/tether-agent.conf" --token "$token2" \
	--ca-fingerprint "$CA_FP" --support-password-file "$WORK/support-pw" \
	>"$WORK/enroll2.log" 2>&1 || fail "enroll $SERIAL2: $(cat "$WORK/enroll2.log")"
pass "the token was still unused after the failed attempt"
[ -z "$agent_user" ] || chown -R "$agent_user:" "$A2/state"

write_conf2 wrong-password
bg agent2 tether-agent run --config "$A2/tether-agent.conf"
wait_for 30 grep -q "proxy authentication required" "$WORK/agent2.log" ||
	fail "agent with a wrong proxy password never reported it"
pass "agent with a wrong proxy password logs a proxy authentication error"
expect_not_contains "$(cat "$WORK/agent2.log")" "wrong-password" "agent error does not show the password"
line=$(tether devices | grep "$SERIAL2" || true)
[ -n "$line" ] || fail "$SERIAL2 is not listed"
expect_not_contains "$line" "online" "device behind a wrong proxy password stays offline"

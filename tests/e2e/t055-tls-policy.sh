#!/bin/sh
# Every tether TLS endpoint speaks TLS 1.3 by default, accepts TLS 1.2 only
# with ECDHE and AEAD suites, and refuses anything older or weaker.
. "$(dirname "$0")/lib.sh"

deploy 1
# probe PORT ARGS...: the protocol and cipher a handshake with these options gets.
probe() {
	port=$1; shift
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$SRV/ca/root.crt" \
		-servername localhost "$@" 2>&1 | grep -E '^ *(Protocol|Cipher) *:|New, ' | tr '\n' ' '
}
for ep in "server $SERVER_PORT" "relay-client $RELAY_1_CLIENT_PORT"; do
	set -- $ep
	name=$1 port=$2
	out=$(probe "$port")
	expect_contains "$out" "TLSv1.3" "$name: TLS 1.3 by default"
	out=$(probe "$port" -tls1_2)
	expect_contains "$out" "ECDHE" "$name: TLS 1.2 only with ECDHE"
	expect_contains "$out" "GCM" "$name: TLS 1.2 only with an AEAD suite"
	out=$(probe "$port" -tls1_2 -cipher 'AES128-SHA:AES256-SHA:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA256')
	expect_contains "$out" "Cipher is (NONE)" "$name: CBC suites refused"
	out=$(probe "$port" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
	expect_contains "$out" "Cipher is (NONE)" "$name: TLS 1.1 refused"
done
kill -0 "$PID_server" && kill -0 "$PID_relay_1" || fail "a daemon died"
pass "daemons keep serving"

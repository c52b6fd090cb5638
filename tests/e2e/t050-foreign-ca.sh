#!/bin/sh
# A device certificate from another CA is refused by the relay and the server,
# even when it names a registered device.
. "$(dirname "$0")/lib.sh"

deploy 1
tether-server device add "$SERIAL" --customer "St Example Hospital" --product injector \
	--site "$SITE" --dir "$SRV" >/dev/null
evil="$WORK/evil"
mkdir -p "$evil"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/O=tether/OU=ca/CN=evil root" -keyout "$evil/ca.key" -out "$evil/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/O=tether/OU=device/CN=$SERIAL" -keyout "$evil/device.key" -out "$evil/device.csr" 2>/dev/null
openssl x509 -req -in "$evil/device.csr" -CA "$evil/ca.crt" -CAkey "$evil/ca.key" \
	-CAcreateserial -days 2 -out "$evil/device.crt" 2>/dev/null

out=$(relay_leg "$RELAY_1_DEVICE_PORT" "TETHER/1 device x.y" "$evil/device.crt" "$evil/device.key")
expect_not_contains "$out" "OK" "relay refuses a device certificate from another CA"

code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$SRV/ca/root.crt" \
	--cert "$evil/device.crt" --key "$evil/device.key" -X POST \
	-H 'Content-Type: application/json' --data '{"version":"x","wait":false}' \
	"https://127.0.0.1:$SERVER_PORT/api/v1/ping" || true)
case "$code" in
200) fail "server accepted a ping with a foreign certificate" ;;
*) pass "server refuses a ping with a foreign certificate (HTTP $code)" ;;
esac
kill -0 "$PID_relay_1" || fail "relay died"
kill -0 "$PID_server" || fail "server died"
pass "relay and server keep serving"

#!/bin/sh
# Device A's certificate with device B's ticket is refused by the relay.
. "$(dirname "$0")/lib.sh"

deploy 1
cli_login
enroll_state() {
	dir="$WORK/dev-$1"
	mkdir -p "$dir"
	cat >"$dir/tether-agent.conf" <<CONF
server = https://127.0.0.1:$SERVER_PORT
serial = $1
state_dir = $dir/state
consent_socket = $dir/consent.sock
service.http = 127.0.0.1:9
CONF
	printf '%s\n' "$SUPPORT_PW" >"$dir/pw"
	tether-agent enroll --config "$dir/tether-agent.conf" --token "$(enroll_token "$1")" \
		--ca-fingerprint "$CA_FP" --support-password-file "$dir/pw" >"$WORK/enroll-$1.log" 2>&1 ||
		fail "enroll $1: $(cat "$WORK/enroll-$1.log")"
}
enroll_state SN-A
enroll_state SN-B
A="$WORK/dev-SN-A/state"
B="$WORK/dev-SN-B/state"
# B reports its services so that a session can name them
device_api "$B" POST /api/v1/ping '{"version":"test","status":"ok","wait":false,"services":[{"name":"http","port":9}]}' >/dev/null

sid=$(tether session request SN-B --reason "TCK-5 cross device")
resp=$(device_api "$B" POST /api/v1/consent "{\"session\":\"$sid\",\"decision\":\"accept\"}")
ticket=$(printf '%s' "$resp" | sed -n 's/.*"ticket": *"\([^"]*\)".*/\1/p')
[ -n "$ticket" ] || fail "no device ticket for B: $resp"

out=$(relay_leg "$RELAY_1_DEVICE_PORT" "TETHER/1 device $ticket" "$A/device.crt" "$A/device.key")
cat "$WORK/s_client.err" >&2
expect_contains "$out" "ERR wrong_device" "A's certificate with B's ticket refused"

out=$(device_api "$A" POST /api/v1/consent "{\"session\":\"$sid\",\"decision\":\"accept\"}")
expect_contains "$out" "error" "device A cannot answer device B's session"
expect_contains "$(cat "$SRV"/relays/relay-1/audit.log)" "wrong_device" "the relay audits the refusal"

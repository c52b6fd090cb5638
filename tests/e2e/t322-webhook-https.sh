#!/bin/sh
# An https webhook is verified against notify.webhook_ca and nothing else:
# a receiver whose certificate comes from the customer's own CA gets the
# notification when that CA is configured; named with the deployment's CA
# instead, the handshake fails ("certificate verify failed" in the outbox)
# and nothing reaches the receiver; an https URL without a CA file is a
# configuration error.
. "$(dirname "$0")/lib.sh"

RX="$WORK/rx"
PKI="$WORK/hookpki"
mkdir -p "$RX" "$PKI"

# The customer's receiver: its own CA and a certificate for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=Customer Hook CA" -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
	>/dev/null 2>&1 || fail "could not make the receiver's CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$PKI/hook.key" -out "$PKI/hook.csr" >/dev/null 2>&1 || fail "receiver CSR"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$PKI/ext"
openssl x509 -req -in "$PKI/hook.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
	-CAcreateserial -days 2 -extfile "$PKI/ext" -out "$PKI/hook.crt" >/dev/null 2>&1 ||
	fail "could not sign the receiver's certificate"

# The receiver saves each request's body as N.body and answers 204 (lib.sh).
webhook_receiver "$RX" "$WORK/receiver"
RX_PORT=$(free_port)
bg receiver socat "OPENSSL-LISTEN:$RX_PORT,bind=127.0.0.1,reuseaddr,fork,cert=$PKI/hook.crt,key=$PKI/hook.key,verify=0" \
	"EXEC:$WORK/receiver"
wait_port "$RX_PORT"

SERVER_PORT=$(free_port)
tether-server init "$SRV" --listen "127.0.0.1:$SERVER_PORT" >/dev/null 2>"$WORK/init.log" ||
	fail "init: $(cat "$WORK/init.log")"
openssl rand -hex 32 >"$SRV/notify.key"
chmod 600 "$SRV/notify.key"
cp "$SRV/tether-server.conf" "$WORK/conf.orig"
cat >>"$SRV/tether-server.conf" <<CONF
notify.webhook_url = https://127.0.0.1:$RX_PORT/tether
notify.webhook_secret_file = notify.key
notify.max_attempts = 2
notify.backoff_base_s = 1
notify.backoff_max_s = 1
CONF
cp "$SRV/tether-server.conf" "$WORK/conf.https"

# https without a CA file: refused when the config is read.
if out=$(timeout 20 tether-server run --dir "$SRV" 2>&1); then
	fail "run accepted an https webhook without notify.webhook_ca"
fi
expect_contains "$out" "needs notify.webhook_ca" "https needs notify.webhook_ca"

# The deployment's own CA does not vouch for the customer's receiver.
echo "notify.webhook_ca = ca/root.crt" >>"$SRV/tether-server.conf"
bg server tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
tether-server notify test --dir "$SRV" >/dev/null || fail "notify test"
wait_for 30 sh -c "tether-server notify list --dir '$SRV' | grep -Eq '^1 +failed '" ||
	fail "the notification to an unverifiable receiver did not fail"
expect_contains "$(tether-server notify list --dir "$SRV")" "certificate verify failed" \
	"the outbox says the receiver's certificate did not verify"
[ "$(ls "$RX" | grep -c '\.body$' || true)" -eq 0 ] ||
	fail "a notification reached a receiver that did not verify"
pass "nothing is sent to a receiver the configured CA does not vouch for"
kill "$PID_server"
wait_for 10 sh -c "! kill -0 $PID_server" || fail "server did not stop"

# With the customer's CA: delivered over TLS (a 204 is a 2xx).
cp "$WORK/conf.https" "$SRV/tether-server.conf"
echo "notify.webhook_ca = $PKI/ca.crt" >>"$SRV/tether-server.conf"
bg server2 tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
tether-server notify test --dir "$SRV" >/dev/null || fail "notify test"
wait_for 30 sh -c "tether-server notify list --dir '$SRV' | grep -Eq '^2 +delivered '" ||
	fail "the notification over https was not delivered"
expect_contains "$(cat "$RX/1.body")" '"id":2,"event":"test"' "the receiver got notification 2 over TLS"
audit=$(tether-server audit list --dir "$SRV")
expect_contains "$audit" "notify_failed" "the unverifiable delivery is audited as failed"
expect_contains "$(echo "$audit" | grep notify_failed)" "certificate verify failed" \
	"notify_failed says why"

#!/bin/sh
# Notifications through the signed webhook: queued while nothing is
# configured; `run` refuses a secret file others can read; a receiver that
# answers 500 gets the notification again with growing delays; the server
# stops with it undelivered and, started again, delivers it exactly once;
# the X-Tether-Signature is HMAC-SHA256(secret, timestamp "." body), checked
# here with openssl; every outcome is audited and the secret is never logged.
. "$(dirname "$0")/lib.sh"

RX="$WORK/rx"
mkdir -p "$RX"
echo 500 >"$RX/status"

# The receiver saves each request as N.head / N.body and answers the status
# in $RX/status, recording it as N.answer (lib.sh).
webhook_receiver "$RX" "$WORK/receiver"
RX_PORT=$(free_port)
bg receiver socat "TCP-LISTEN:$RX_PORT,bind=127.0.0.1,reuseaddr,fork" "EXEC:$WORK/receiver"
wait_port "$RX_PORT"

SERVER_PORT=$(free_port)
tether-server init "$SRV" --listen "127.0.0.1:$SERVER_PORT" >/dev/null 2>"$WORK/init.log" ||
	fail "init: $(cat "$WORK/init.log")"
expect_contains "$(cat "$SRV/tether-server.conf")" "# notify.webhook_url" \
	"init documents the notify keys in the config"

# Nothing configured: the notification waits in the outbox.
bg server tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
out=$(tether-server notify test --dir "$SRV") || fail "notify test: $out"
expect_contains "$out" "queued test notification #1" "notify test queues notification 1"
wait_for 10 grep -q "notifications are not configured" "$WORK/server.log" ||
	fail "run did not say that notifications are not configured"
[ "$(grep -c "not configured" "$WORK/server.log")" -eq 1 ] || fail "said more than once"
pass "run says once that notifications are not configured"
kill "$PID_server"
wait_for 10 sh -c "! kill -0 $PID_server" || fail "server did not stop"
list=$(tether-server notify list --dir "$SRV")
expect_contains "$list" "pending" "the unconfigured notification is still pending"
[ "$(ls "$RX" | grep -c head || true)" -eq 0 ] || fail "something was sent while unconfigured"

SECRET=$(openssl rand -hex 32)
printf '%s\n' "$SECRET" >"$SRV/notify.key"
chmod 644 "$SRV/notify.key"
cat >>"$SRV/tether-server.conf" <<CONF
notify.webhook_url = http://127.0.0.1:$RX_PORT/hooks/tether
notify.webhook_secret_file = notify.key
notify.max_attempts = 20
notify.backoff_base_s = 1
notify.backoff_max_s = 4
CONF

# A key others can read, or none at all, stops `run` with the reason.
if out=$(timeout 20 tether-server run --dir "$SRV" 2>&1); then
	fail "run started with a world-readable webhook secret"
fi
expect_contains "$out" "can be read by group or others" "run refuses a group/world-readable secret"
mv "$SRV/notify.key" "$SRV/notify.key.away"
if out=$(timeout 20 tether-server run --dir "$SRV" 2>&1); then
	fail "run started without the webhook secret file"
fi
expect_contains "$out" "notify.webhook_secret_file" "run refuses a missing secret file"
mv "$SRV/notify.key.away" "$SRV/notify.key"
chmod 600 "$SRV/notify.key"

# The receiver fails: the notification is offered again and again, each
# next try further away (the delays the server computed, from its log).
bg server2 tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
wait_for 30 sh -c "[ \$(ls '$RX' | grep -c '\.head\$') -ge 3 ]" ||
	fail "the failing receiver was not tried three times"
wait_for 10 sh -c "[ \$(grep -c 'next try in' '$WORK/server2.log') -ge 3 ]" ||
	fail "the server did not log three retries"
delays=$(sed -n 's/.*#1 test attempt [0-9]* failed: webhook answered HTTP 500; next try in \([0-9]*\) s.*/\1/p' \
	"$WORK/server2.log" | head -3 | tr '\n' ' ')
set -- $delays
[ $# -eq 3 ] || fail "expected three retry delays in the log, got '$delays'"
[ "$1" -le "$2" ] && [ "$2" -le "$3" ] && [ "$1" -lt "$3" ] ||
	fail "retry delays do not grow: $delays"
pass "retries back off with growing delays ($delays s)"

kill "$PID_server2"
wait_for 10 sh -c "! kill -0 $PID_server2" || fail "server did not stop"
json=$(tether-server notify list --dir "$SRV" --json | tr -d ' \n')
expect_contains "$json" '"state":"pending"' "still pending after the server stopped"
expect_contains "$json" '"last_error":"webhookansweredHTTP500"' "notify list shows the last error"
expect_not_contains "$(cat "$RX"/*.answer)" "200" "nothing was accepted yet"

# Started again with the receiver healthy: delivered, exactly once.
echo 200 >"$RX/status"
bg server3 tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
wait_for 30 sh -c "tether-server notify list --dir '$SRV' | grep -Eq '^1 +delivered '" ||
	fail "notification 1 was not delivered after the restart"
pass "the notification left pending by the last run is delivered after a restart"
# A second one behind it proves the queue moved on (and gives a stray
# duplicate of #1 time to show up before it is counted).
tether-server notify test --dir "$SRV" >/dev/null
wait_for 30 sh -c "tether-server notify list --dir '$SRV' | grep -Eq '^2 +delivered '" ||
	fail "notification 2 was not delivered"
accepted=0
for a in "$RX"/*.answer; do
	n=$(basename "$a" .answer)
	if [ "$(cat "$a")" = 200 ] && grep -qx 'X-Tether-Delivery: 1' "$RX/$n.head"; then
		accepted=$((accepted + 1)); N=$n
	fi
done
[ "$accepted" -eq 1 ] || fail "notification 1 was accepted $accepted times"
pass "notification 1 was accepted exactly once"

head=$(cat "$RX/$N.head")
body=$(cat "$RX/$N.body")
expect_contains "$head" "POST /hooks/tether HTTP/1.1" "POST to the configured path"
expect_contains "$head" "Content-Type: application/json" "JSON content type"
expect_contains "$head" "X-Tether-Event: test" "X-Tether-Event names the event"
expect_contains "$body" '"id":1,"event":"test","site":"","created_at":' "the body starts with id, event, site, created_at"
ts=$(sed -n 's/^X-Tether-Timestamp: //p' "$RX/$N.head")
sig=$(sed -n 's/^X-Tether-Signature: sha256=//p' "$RX/$N.head")
[ -n "$ts" ] && [ -n "$sig" ] || fail "timestamp or signature header missing"
want=$( { printf '%s.' "$ts"; cat "$RX/$N.body"; } | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
[ "$sig" = "$want" ] || fail "signature $sig is not HMAC-SHA256(secret, ts.body) $want"
pass "X-Tether-Signature verifies with openssl"
wrong=$( { printf '%s.' "$((ts + 1))"; cat "$RX/$N.body"; } | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
[ "$sig" != "$wrong" ] || fail "the signature does not cover the timestamp"

audit=$(tether-server audit list --dir "$SRV")
expect_contains "$audit" "notify_test" "notify test is audited"
expect_contains "$audit" "notify_delivered" "the delivery is audited"
expect_contains "$(echo "$audit" | grep notify_delivered | head -1)" '"attempts":' "notify_delivered carries the attempts"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the audit chain broke"
for f in "$WORK"/server*.log; do
	expect_not_contains "$(cat "$f")" "$SECRET" "the secret is not in $(basename "$f")"
done
expect_not_contains "$audit" "$SECRET" "the secret is not in the audit trail"

#!/bin/sh
# Notifications through notify.command (run without a shell, the body on
# stdin, TETHER_EVENT and TETHER_DELIVERY set, exit 0 = delivered), beside a
# webhook: both get the same body; a way that already accepted a
# notification is not offered it again when the other one is retried; after
# notify.max_attempts a notification is marked failed and audited.
. "$(dirname "$0")/lib.sh"

RX="$WORK/rx"
CMD="$WORK/cmd"
mkdir -p "$RX" "$CMD"
echo 200 >"$RX/status"
echo 1 >"$CMD/exit"

# The webhook receiver: saves each request's body as N.body (lib.sh).
webhook_receiver "$RX" "$WORK/receiver"
# The command: saves stdin and its environment per run, exits as told.
cat >"$WORK/notify-cmd" <<HOOK
#!/bin/sh
n=\$(ls "$CMD" | grep -c '\.body\$' || true)
n=\$((n + 1))
cat >"$CMD/\$n.tmp"
env >"$CMD/\$n.env"
mv "$CMD/\$n.tmp" "$CMD/\$n.body"
exit \$(cat "$CMD/exit")
HOOK
chmod 755 "$WORK/notify-cmd"
RX_PORT=$(free_port)
bg receiver socat "TCP-LISTEN:$RX_PORT,bind=127.0.0.1,reuseaddr,fork" "EXEC:$WORK/receiver"
wait_port "$RX_PORT"

SERVER_PORT=$(free_port)
tether-server init "$SRV" --listen "127.0.0.1:$SERVER_PORT" >/dev/null 2>"$WORK/init.log" ||
	fail "init: $(cat "$WORK/init.log")"
openssl rand -hex 32 >"$SRV/notify.key"
chmod 600 "$SRV/notify.key"
cp "$SRV/tether-server.conf" "$WORK/conf.orig"

# A relative command is a configuration error.
echo "notify.command = notify-cmd" >>"$SRV/tether-server.conf"
if out=$(timeout 20 tether-server run --dir "$SRV" 2>&1); then
	fail "run accepted a relative notify.command"
fi
expect_contains "$out" "notify.command must be an absolute path" "a relative command is refused"

# So is a URL with credentials in it, and the refusal does not repeat them.
cp "$WORK/conf.orig" "$SRV/tether-server.conf"
printf 'notify.webhook_url = http://hook:s3cr3t-pw@127.0.0.1:%s/\nnotify.webhook_secret_file = notify.key\n' \
	"$RX_PORT" >>"$SRV/tether-server.conf"
if out=$(timeout 20 tether-server run --dir "$SRV" 2>&1); then
	fail "run accepted a webhook URL with a password in it"
fi
expect_contains "$out" "not a valid" "a URL with user:password is refused"
expect_not_contains "$out" "s3cr3t-pw" "the refusal does not print the password"

cp "$WORK/conf.orig" "$SRV/tether-server.conf"
cat >>"$SRV/tether-server.conf" <<CONF
notify.webhook_url = http://127.0.0.1:$RX_PORT/
notify.webhook_secret_file = notify.key
notify.command = $WORK/notify-cmd
notify.max_attempts = 3
notify.backoff_base_s = 1
notify.backoff_max_s = 1
CONF
bg server tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
tether-server notify test --site north-ward --dir "$SRV" >/dev/null || fail "notify test"

# The webhook takes it at once; the command fails once, then succeeds.
wait_for 20 sh -c "[ \$(ls '$CMD' | grep -c '\.body\$') -ge 1 ]" || fail "the command never ran"
echo 0 >"$CMD/exit"
wait_for 30 sh -c "tether-server notify list --dir '$SRV' | grep -Eq '^1 +delivered '" ||
	fail "notification 1 was not delivered"
runs=$(ls "$CMD" | grep -c '\.body$')
posts=$(ls "$RX" | grep -c '\.body$')
[ "$runs" -eq 2 ] || fail "the command ran $runs times, expected 2 (fail, then succeed)"
[ "$posts" -eq 1 ] || fail "the webhook got $posts requests; it had accepted the first"
pass "a retry offers the notification only to the way that failed"
cmp -s "$CMD/1.body" "$RX/1.body" || fail "the command and the webhook got different bodies"
cmp -s "$CMD/1.body" "$CMD/2.body" || fail "the retry's body differs"
pass "the command gets the same body on stdin as the webhook"
body=$(cat "$CMD/2.body")
expect_contains "$body" '"id":1,"event":"test","site":"north-ward"' "the body names the event and the site"
env=$(cat "$CMD/2.env")
expect_contains "$env" "TETHER_EVENT=test" "TETHER_EVENT is set"
expect_contains "$env" "TETHER_DELIVERY=1" "TETHER_DELIVERY is the notification id"
expect_not_contains "$env" "TETHER_HOME" "the command does not inherit the server's environment"
audit=$(tether-server audit list --dir "$SRV")
expect_contains "$(echo "$audit" | grep notify_delivered)" '"via":["webhook","command"]' \
	"notify_delivered names both ways"

# A command that keeps failing: failed after max_attempts, and audited.
echo 7 >"$CMD/exit"
tether-server notify test --dir "$SRV" >/dev/null || fail "notify test"
wait_for 30 sh -c "tether-server notify list --dir '$SRV' | grep -Eq '^2 +failed '" ||
	fail "notification 2 was not marked failed"
json=$(tether-server notify list --dir "$SRV" --json)
expect_contains "$json" '"last_error":"command exited with status 7"' "the last error is kept"
audit=$(tether-server audit list --dir "$SRV")
line=$(echo "$audit" | grep notify_failed || true)
expect_contains "$line" '"attempts":3' "notify_failed after notify.max_attempts"
expect_contains "$line" "command exited with status 7" "notify_failed says why"
expect_contains "$(cat "$WORK/server.log")" "notify: #2 test failed after 3 attempts" "the server logs the failure"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the audit chain broke"

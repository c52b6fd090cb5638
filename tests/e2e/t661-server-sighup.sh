#!/bin/sh
# SIGHUP makes the server read policy.conf and its log level again, without
# a restart: the same process keeps serving, logs what it did and audits a
# `reload` record; the new policy decides the next request. A policy file
# that does not parse is refused with a log line, and the policy in force
# stays.
. "$(dirname "$0")/lib.sh"

deploy 1
cli_login
pol="$SRV/policy.conf"
cp "$pol" "$WORK/policy.orig"
[ "$(api_code GET /api/v1/devices)" = 200 ] || fail "devices refused before any change"

# The specialist loses devices:view.
sed -i 's/^role.specialist.1 = devices:view /role.specialist.1 = /' "$pol"
kill -HUP "$PID_server"
wait_log "$WORK/server.log" "reload: policy reloaded"
kill -0 "$PID_server" || fail "SIGHUP stopped the server"
pass "SIGHUP did not stop the server (pid $PID_server)"
code=$(api_code GET /api/v1/devices)
[ "$code" = 403 ] || fail "the reloaded policy was not applied: devices answered $code"
pass "the reloaded policy decides the next request (403)"
audit_has reload '"policy":"reloaded"' "the reload is in the server's trail"

# A file that does not parse: refused, the policy in force kept.
printf 'role.specialist.1 = devices:view no-such-permission\n' >>"$pol"
kill -HUP "$PID_server"
wait_log "$WORK/server.log" "reload: policy refused"
expect_contains "$(grep 'reload: policy refused' "$WORK/server.log")" "policy.conf:" \
	"the log names the bad file and line"
code=$(api_code GET /api/v1/devices)
[ "$code" = 403 ] || fail "a refused policy changed the one in force: devices answered $code"
pass "a bad policy is refused and the one in force kept"
audit_has reload '"policy":"kept"' "the refused reload is in the trail"

# The original again, and a log level change.
cp "$WORK/policy.orig" "$pol"
set_server_conf log_level debug
n=$(log_lines "$WORK/server.log" "reload: policy reloaded")
kill -HUP "$PID_server"
wait_for 20 sh -c "[ \$(grep -c 'reload: policy reloaded' '$WORK/server.log') -gt $n ]" ||
	fail "the third reload was not logged"
expect_contains "$(cat "$WORK/server.log")" "reload: log level from tether-server.conf applied" \
	"the log level is read again"
[ "$(api_code GET /api/v1/devices)" = 200 ] || fail "the restored policy was not applied"
pass "the restored policy is in force again"
kill -0 "$PID_server" || fail "the server stopped"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the server's chain does not verify"

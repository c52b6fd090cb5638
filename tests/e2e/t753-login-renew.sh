#!/bin/sh
# A longer working day: `tether renew` gives a new login with the one-time
# code alone (no password) while the server's renewal limit after the
# password login lasts (login_renew_max_s, 8 h by default); the old token
# stops working, renewals are audited, and past the limit a renewal is
# refused and the password is asked for again.
. "$(dirname "$0")/lib.sh"

tether renew --help | grep -q "^  tether renew \[--totp" || fail "tether renew --help"
deploy 1
cli_login
tok() { sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$TETHER_HOME/cli.json"; }
old=$(tok)
out=$(TETHER_TOTP="$(totp_code "$SPEC_USER")" tether renew 2>&1) || fail "renew: $out"
expect_contains "$out" "logged in to" "renew inside the limit gives a new login"
[ "$(tok)" != "$old" ] || fail "renew kept the same token"
tether devices >/dev/null || fail "the renewed login does not work"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$SRV/ca/root.crt" \
	-H "Authorization: Bearer $old" "https://127.0.0.1:$SERVER_PORT/api/v1/devices")
[ "$code" = 401 ] || fail "the token renewed away still answers $code"
pass "the old token is refused after the renewal"
audit_has login_renewed '"factor":"totp"' "the renewal"

# a wrong code renews nothing
out=$(TETHER_TOTP=000000 tether renew 2>&1) && fail "renew with a wrong code succeeded"
expect_contains "$out" "invalid one-time code" "a wrong code is refused"

# past the limit: the password login was 9 hours ago
db=$(sed -n 's/^db *= *//p' "$SRV/tether-server.conf")
case "$db" in /*) ;; *) db="$SRV/$db" ;; esac
sqlite3 "$db" "PRAGMA busy_timeout = 5000; UPDATE api_tokens SET auth_at = auth_at - 9 * 3600;" ||
	fail "cannot age the login"
out=$(TETHER_TOTP="$(totp_code "$SPEC_USER")" tether renew 2>&1) && fail "renew past the limit succeeded"
expect_contains "$out" "log in with your password again" "past the limit the password is asked for"
audit_has login_renew_refused "$SPEC_USER" "the refused renewal"
cli_login
tether devices >/dev/null || fail "a password login after the refusal does not work"
pass "login renewal"

#!/bin/sh
# The server's data directory on a full disk: a login with the right
# password and one-time code is answered 503 with the reason (never
# "invalid one-time code", never a counted failure), so is any call that must
# write, and so is a wrong password that cannot be counted or audited; once
# space is free the same credentials log in and the audit chain verifies.
. "$(dirname "$0")/lib.sh"

tmpfs_mount "$SRV" 24m
full_stack 1

fill_disk "$SRV"
code=$(totp_code "$SPEC_USER")
rc=0
TETHER_PASSWORD="$SPEC_PW" TETHER_TOTP="$code" tether login \
	--server "https://127.0.0.1:$SERVER_PORT" --ca "$SRV/ca/root.crt" \
	--user "$SPEC_USER" >"$WORK/login-full.log" 2>&1 || rc=$?
out=$(cat "$WORK/login-full.log")
[ "$rc" -ne 0 ] || fail "a login succeeded on a full disk (nothing could be stored): $out"
expect_not_contains "$out" "invalid one-time code" "a right code is not called invalid"
expect_not_contains "$out" "invalid user name or password" "nor the password"
expect_contains "$out" "503" "the login is answered 503"
expect_contains "$out" "disk is full" "with the reason"

code=$(http_status "$WORK/req" POST /api/v1/sessions \
	"{\"device\":\"$SERIAL\",\"reason\":\"TCK-645 full disk\",\"services\":[\"http\"]}")
[ "$code" = 503 ] || fail "a session request on a full disk got $code: $(cat "$WORK/req")"
grep -qi '^Retry-After: [0-9]' "$WORK/req.hdr" || fail "no Retry-After: $(cat "$WORK/req.hdr")"
expect_contains "$(cat "$WORK/req")" "disk is full" "a write on a full disk is 503 with the reason"

# A wrong password cannot be counted or audited: it is not judged either,
# so a full disk never lifts the lockout.
code=$(curl -sS --max-time 20 --cacert "$SRV/ca/root.crt" -o "$WORK/bad" -w '%{http_code}' \
	-H 'Content-Type: application/json' --data "{\"user\":\"$SPEC_USER\",\"password\":\"wrong-$$\"}" \
	"https://127.0.0.1:$SERVER_PORT/api/v1/login")
[ "$code" = 503 ] || fail "a wrong password on a full disk got $code: $(cat "$WORK/bad")"
expect_contains "$(cat "$WORK/bad")" "audit trail cannot be written" "a failure that cannot be audited is 503"

rm -f "$SRV/filler" "$SRV/filler2"
cli_login
pass "after space is freed the same credentials log in"
tether-server audit verify --dir "$SRV" >"$WORK/verify.log" 2>&1 ||
	fail "the server's audit chain does not verify: $(cat "$WORK/verify.log")"
pass "the server's audit chain verifies"
n=$(tether-server audit list --dir "$SRV" | awk '$4 == "login_failed"' | grep -c "$SPEC_USER" || true)
[ "$n" -eq 0 ] || fail "$n login failures were recorded against $SPEC_USER"
pass "no login failure was counted against the user"

#!/bin/sh
# TOTP is required for every account: the first login only allows enrolling
# (a setup-scope token is refused elsewhere), the secret is made by the
# server for the user alone (sealed at rest), and then a login without a
# code, with a wrong code or with a code already used is refused and
# audited with its reason; a code one step old is accepted (clock drift);
# a recovery code works once. No secret or code shows in any log.
. "$(dirname "$0")/lib.sh"

deploy 1
URL="https://127.0.0.1:$SERVER_PORT"
audit() { tether-server audit list --dir "$SRV"; }
post_login() { # post_login JSON: the raw API answer, HTTP status last
	curl -sS --cacert "$SRV/ca/root.crt" -H 'Content-Type: application/json' \
		-w ' HTTP%{http_code}' --data "$1" "$URL/api/v1/login"
}
token_of() { sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$1/cli.json"; }

# erin enrolls first: the drift check at the end needs her last step to be
# old by then.
ERIN_PW=$(random_password)
add_user_pw erin "$ERIN_PW"
mfa_enroll erin "$ERIN_PW" "$WORK/cli-erin"

# ---- enrollment -------------------------------------------------------------
DAVE_PW=$(random_password)
add_user_pw dave "$DAVE_PW" administrator
DH="$WORK/cli-dave"
user_enroll dave "$DAVE_PW" "$DH"   # the enrollment code: dave chooses his password
rc=0
out=$(TETHER_HOME="$DH" TETHER_PASSWORD="$DAVE_PW" tether login --server "$URL" \
	--ca "$SRV/ca/root.crt" --user dave 2>&1) || rc=$?
[ "$rc" -eq 3 ] || fail "first login exited $rc, want 3 (setup): $out"
expect_contains "$out" "tether mfa enroll" "the first login says to enroll TOTP"
expect_contains "$out" "tether mfa confirm CODE" "... and how to confirm"
code=$(curl -s -o "$WORK/devices.json" -w '%{http_code}' --cacert "$SRV/ca/root.crt" \
	-H "Authorization: Bearer $(token_of "$DH")" "$URL/api/v1/devices")
[ "$code" = 403 ] || fail "a setup token listed devices (HTTP $code)"
expect_contains "$(cat "$WORK/devices.json")" "setup_required" "a setup token gets 403 setup_required on /api/v1/devices"
expect_contains "$(cat "$WORK/devices.json")" "tether mfa enroll" "the refusal names what to do"
out=$(TETHER_HOME="$DH" tether devices 2>&1) && fail "tether devices worked with a setup token"
expect_contains "$out" "setup_required" "tether devices says the setup is not finished"

page=$(TETHER_HOME="$DH" tether mfa enroll) || fail "mfa enroll: $page"
expect_contains "$page" "otpauth://totp/tether:dave?secret=" "enroll shows the otpauth URI"
expect_contains "$page" "&issuer=tether&algorithm=SHA1&digits=6&period=30" "the URI names issuer, SHA1, 6 digits, 30 s"
expect_contains "$page" "█" "enroll draws a QR code in the terminal"
TETHER_HOME="$DH" tether --json mfa enroll >"$WORK/dave-enroll.json" || fail "mfa enroll --json"
jq -r .secret "$WORK/dave-enroll.json" >"$WORK/totp.dave"
secret=$(cat "$WORK/totp.dave")
[ "${#secret}" -eq 32 ] || fail "the secret is not 160 bits of base32: $secret"
pass "a new enroll replaces the unconfirmed secret; the secret is 160 bits"
jq -r .uri "$WORK/dave-enroll.json" | grep -q "secret=$secret&" || fail "the URI does not carry the secret"
out=$(TETHER_HOME="$DH" tether mfa confirm 000000 2>&1) && fail "a wrong first code enrolled"
TETHER_HOME="$DH" tether --json mfa confirm "$(totp_code dave)" >"$WORK/dave-codes.json" ||
	fail "mfa confirm: $(cat "$WORK/dave-codes.json")"
[ "$(jq '.recovery_codes | length' "$WORK/dave-codes.json")" -eq 10 ] || fail "not 10 recovery codes"
[ "$(jq -r .scope "$WORK/dave-codes.json")" = full ] || fail "confirm did not give a full login"
TETHER_HOME="$DH" tether devices >/dev/null || fail "the full login from confirm does not work"
pass "confirm gives 10 recovery codes and a full login"
out=$(TETHER_HOME="$DH" tether mfa enroll 2>&1) && fail "enrolled twice"
expect_contains "$out" "already_enrolled" "a second enrollment is refused"
[ "$(stat -c %a "$SRV/mfa/totp.key")" = 600 ] || fail "mfa/totp.key is not 0600"
if grep -q "$secret" "$SRV/tether.db"; then fail "the TOTP secret is in the database in clear"; fi
pass "the TOTP secret is sealed at rest under the 0600 mfa/totp.key"

# ---- login with TOTP ----------------------------------------------------------
cli_login   # alice enrolls
out=$(TETHER_PASSWORD="$SPEC_PW" tether login --server "$URL" --ca "$SRV/ca/root.crt" \
	--user "$SPEC_USER" </dev/null 2>&1) && fail "logged in without a code"
expect_contains "$out" "one-time code" "a login without a code is refused"
r=$(post_login "{\"user\":\"$SPEC_USER\",\"password\":\"$SPEC_PW\"}")
expect_contains "$r" "totp_required" "the API answers totp_required"
expect_contains "$r" "HTTP401" "... with 401"

# a wrong code: none of the three codes the server would take now
now=$(( $(date +%s) / 30 ))
valid=""
for s in $((now - 1)) "$now" $((now + 1)) $((now + 2)); do
	valid="$valid $(oathtool --totp -b "$(cat "$WORK/totp.$SPEC_USER")" -N "@$((s * 30))")"
done
for wrong in 000000 111111 222222 333333 444444; do
	case "$valid" in *"$wrong"*) continue ;; esac
	break
done
out=$(TETHER_PASSWORD="$SPEC_PW" tether login --server "$URL" --ca "$SRV/ca/root.crt" \
	--user "$SPEC_USER" --totp "$wrong" 2>&1) && fail "a wrong code logged in"
expect_contains "$out" "invalid one-time code" "a wrong code is refused"
expect_contains "$(audit | grep login_failed)" '"reason":"bad_totp"' "the wrong code is audited bad_totp"

# a code used once is refused the second time
code=$(totp_code "$SPEC_USER")
TETHER_PASSWORD="$SPEC_PW" tether login --server "$URL" --ca "$SRV/ca/root.crt" \
	--user "$SPEC_USER" --totp "$code" >/dev/null 2>&1 || fail "a fresh code was refused"
pass "a fresh code logs in"
out=$(TETHER_PASSWORD="$SPEC_PW" TETHER_TOTP="$code" tether login --server "$URL" \
	--ca "$SRV/ca/root.crt" --user "$SPEC_USER" 2>&1) && fail "a replayed code logged in"
expect_contains "$out" "already used" "a replayed code is refused as already used"
expect_contains "$(audit | grep login_failed)" '"reason":"totp_replayed"' "the replay is audited totp_replayed"

# ---- recovery codes -----------------------------------------------------------
rcode=$(jq -r '.recovery_codes[0]' "$WORK/recovery.$SPEC_USER.json")
TETHER_PASSWORD="$SPEC_PW" tether login --server "$URL" --ca "$SRV/ca/root.crt" \
	--user "$SPEC_USER" --recovery-code "$rcode" >/dev/null 2>&1 || fail "a recovery code was refused"
pass "a recovery code logs in"
expect_contains "$(audit | grep recovery_code_used)" "\"user\":\"$SPEC_USER\"" "the recovery code's use is audited"
expect_contains "$(audit | grep recovery_codes_left)" '"left":9' "nine recovery codes are left"
out=$(TETHER_PASSWORD="$SPEC_PW" tether login --server "$URL" --ca "$SRV/ca/root.crt" \
	--user "$SPEC_USER" --recovery-code "$rcode" 2>&1) && fail "a recovery code worked twice"
expect_contains "$out" "already used recovery code" "a used recovery code is refused"
expect_contains "$(audit | grep login_failed)" '"reason":"bad_recovery_code"' "... and audited bad_recovery_code"

# ---- drift: a code one step old -------------------------------------------------
last=$(cat "$WORK/totp.erin.step")
wait_for 40 sh -c "t=\$(date +%s); [ \$((t / 30 - 1)) -gt $last ] && [ \$((t % 30)) -lt 25 ]" ||
	fail "no period came where erin's previous step is unused"
old_step=$(( $(date +%s) / 30 - 1 ))
old=$(oathtool --totp -b "$(cat "$WORK/totp.erin")" -N "@$((old_step * 30))")
TETHER_HOME="$WORK/cli-erin" TETHER_PASSWORD="$ERIN_PW" tether login --server "$URL" \
	--ca "$SRV/ca/root.crt" --user erin --totp "$old" >"$WORK/login-drift.log" 2>&1 ||
	fail "a code one step old was refused: $(cat "$WORK/login-drift.log")"
pass "a code one step old is accepted"

# ---- nothing secret in any log --------------------------------------------------
for s in "$(cat "$WORK/totp.$SPEC_USER")" "$secret" "$(cat "$WORK/totp.erin")" "$rcode" \
	"$code" "$old" "$SPEC_PW"; do
	if grep -rqF -- "$s" "$WORK"/*.log; then fail "a secret or code appears in a log"; fi
done
if audit | grep -qF -- "$rcode"; then fail "a recovery code is in the audit trail"; fi
pass "no TOTP secret, code, recovery code or password in any log or the audit trail"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the audit chain does not verify"

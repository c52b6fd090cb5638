#!/bin/sh
# Password rules hold when a user chooses a password with an enrollment
# code (a new account or an administrator's reset) and at the user's own
# change: at least 12 characters, not on the bundled list of common
# passwords (any case), not containing the user name, and (on a change) not
# the old one; each refusal says why, and a refused password does not spend
# the code. A change revokes every earlier token of the user. An
# administrator's reset hands out a code, revokes the tokens and stops the
# old password; the user chooses the next one and keeps their TOTP.
. "$(dirname "$0")/lib.sh"

deploy 1
URL="https://127.0.0.1:$SERVER_PORT"
token_of() { sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$1/cli.json"; }
status_with() { # status_with TOKEN: HTTP status of GET /api/v1/devices
	curl -s -o /dev/null -w '%{http_code}' --cacert "$SRV/ca/root.crt" \
		-H "Authorization: Bearer $1" "$URL/api/v1/devices"
}
audit() { tether-server audit list --dir "$SRV"; }

# ---- the first password, with the enrollment code -------------------------------
add_user_pw bobby unused
enroll_bobby() { # enroll_bobby PASSWORD: tether enroll with bobby's code
	TETHER_HOME="$WORK/cli-bobby" TETHER_ENROLL_CODE="$(cat "$WORK/code-bobby")" \
		TETHER_PASSWORD="$1" tether enroll --server "$URL" --ca "$SRV/ca/root.crt" --user bobby 2>&1
}
refused_enroll() { # refused_enroll PASSWORD REASON
	out=$(enroll_bobby "$1") && fail "enroll accepted '$1'"
	expect_contains "$out" "$2" "enroll refuses '$1': $2"
}
refused_enroll "Sh0rt-pw!" "too short"
refused_enroll "password1234" "too common"
refused_enroll "QwertyUiop123" "too common"
refused_enroll "aaaaaaaaaaaaaaaa" "too common"
refused_enroll "my-BOBBY-is-strong-77" "contains the user name"
out=$(enroll_bobby "Harbour-Lights-Choice-314") || fail "a good password after refusals: $out"
expect_contains "$out" "password set for bobby" "a refused password does not spend the code"

# ---- change by the user --------------------------------------------------------
cli_login
change() { # change OLD NEW [HOME]: tether password
	TETHER_HOME="${3:-$TETHER_HOME}" TETHER_PASSWORD="$1" TETHER_NEW_PASSWORD="$2" tether password 2>&1
}
out=$(change "$SPEC_PW" "tiny-pw-1") && fail "a short new password was accepted"
expect_contains "$out" "too short" "a change to a short password is refused"
out=$(change "$SPEC_PW" "ILOVEYOU1234") && fail "a common new password was accepted"
expect_contains "$out" "too common" "a change to a common password is refused"
out=$(change "$SPEC_PW" "Alice-rules-the-world-9") && fail "a password with the name was accepted"
expect_contains "$out" "contains the user name" "a change to a password with the user name is refused"
out=$(change "$SPEC_PW" "$SPEC_PW") && fail "the same password was accepted"
expect_contains "$out" "same as the old one" "a change to the same password is refused"
out=$(change "not-the-old-password-7" "Fresh-Valid-Passphrase-42") && fail "a wrong old password was accepted"
expect_contains "$out" "old password is wrong" "a change with a wrong old password is refused"
expect_contains "$(audit | grep password_change_failed)" '"reason":"bad_old_password"' "refused changes are audited with the reason"

# a second login of alice elsewhere, then the change
OTHER="$WORK/cli-other"
code=$(totp_code "$SPEC_USER")
TETHER_HOME="$OTHER" TETHER_PASSWORD="$SPEC_PW" TETHER_TOTP="$code" tether login --server "$URL" \
	--ca "$SRV/ca/root.crt" --user "$SPEC_USER" >/dev/null 2>&1 || fail "second login failed"
other_token=$(token_of "$OTHER")
before=$(token_of "$TETHER_HOME")
NEW_PW="Fresh-Valid-Passphrase-42"
out=$(change "$SPEC_PW" "$NEW_PW") || fail "a good change was refused: $out"
expect_contains "$out" "password changed" "the change is accepted"
[ "$(status_with "$other_token")" = 401 ] || fail "the other login still works after the change"
[ "$(status_with "$before")" = 401 ] || fail "the token used for the change still works"
pass "a password change revokes every earlier token"
tether devices >/dev/null || fail "the renewed login of this CLI does not work"
pass "the CLI that changed it holds a fresh login"
expect_contains "$(audit | grep '"password_change"')" "\"user\":\"$SPEC_USER\"" "the change is audited password_change"
expect_contains "$(audit | grep tokens_revoked)" '"reason":"password_change"' "the revocation is audited"
out=$(TETHER_PASSWORD="$SPEC_PW" tether login --server "$URL" --ca "$SRV/ca/root.crt" \
	--user "$SPEC_USER" 2>&1) && fail "the old password still logs in"
expect_contains "$out" "wrong user name or password" "the old password no longer works"

# ---- reset by an administrator ---------------------------------------------------
BOB_PW=$(random_password)
add_user_pw bob "$BOB_PW"
mfa_enroll bob "$BOB_PW" "$WORK/cli-bob"
bob_token=$(token_of "$WORK/cli-bob")
code=$(tether-server user reset-password bob --dir "$SRV" 2>"$WORK/reset.log") ||
	fail "reset-password: $(cat "$WORK/reset.log")"
[ -n "$code" ] || fail "reset-password printed no enrollment code"
expect_contains "$(cat "$WORK/reset.log")" "every login revoked" "reset-password says what it did"
[ "$(status_with "$bob_token")" = 401 ] || fail "bob's token survived the reset"
pass "the reset revokes bob's tokens"
expect_contains "$(audit | grep user_invite)" '"reason":"reset_password"' "the reset is audited user_invite"
out=$(TETHER_HOME="$WORK/cli-bob" TETHER_PASSWORD="$BOB_PW" TETHER_TOTP="$(totp_code bob)" \
	tether login --server "$URL" --ca "$SRV/ca/root.crt" --user bob 2>&1) &&
	fail "the old password still logs in after a reset"
expect_contains "$out" "wrong user name or password" "the reset stops the old password"
bob_enroll() { # bob_enroll PASSWORD
	TETHER_HOME="$WORK/cli-bob" TETHER_ENROLL_CODE="$code" TETHER_PASSWORD="$1" \
		tether enroll --server "$URL" --ca "$SRV/ca/root.crt" --user bob 2>&1
}
out=$(bob_enroll "password1234") && fail "a reset to a common password was accepted"
expect_contains "$out" "too common" "a reset to a common password is refused"
out=$(bob_enroll "My-Own-Secret-Phrase-5x") || fail "bob's new password: $out"
expect_contains "$out" "log in with \`tether login\`" "with TOTP enrolled the code gives no login by itself"
TETHER_HOME="$WORK/cli-bob" TETHER_PASSWORD="My-Own-Secret-Phrase-5x" TETHER_TOTP="$(totp_code bob)" \
	tether login --server "$URL" --ca "$SRV/ca/root.crt" --user bob >/dev/null 2>&1 ||
	fail "bob cannot log in with the password he chose"
TETHER_HOME="$WORK/cli-bob" tether devices >/dev/null || fail "bob has no full login after the reset"
pass "after the reset bob logs in with his own password and his TOTP"

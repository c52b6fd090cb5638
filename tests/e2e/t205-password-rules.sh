#!/bin/sh
# Password rules hold at user add, at an administrator's reset and at the
# user's own change: at least 12 characters, not on the bundled list of
# common passwords (any case), not containing the user name, and (on a
# change) not the old one; each refusal says why. A change revokes every
# earlier token of the user. An administrator's reset revokes the tokens
# and forces a change at the next login (a setup-scope login until then).
. "$(dirname "$0")/lib.sh"

deploy 1
URL="https://127.0.0.1:$SERVER_PORT"
token_of() { sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$1/cli.json"; }
status_with() { # status_with TOKEN: HTTP status of GET /api/v1/devices
	curl -s -o /dev/null -w '%{http_code}' --cacert "$SRV/ca/root.crt" \
		-H "Authorization: Bearer $1" "$URL/api/v1/devices"
}
audit() { tether-server audit list --dir "$SRV"; }

# ---- user add ----------------------------------------------------------------
refused_add() { # refused_add NAME PASSWORD REASON
	out=$(printf '%s\n' "$2" | tether-server user add "$1" --role specialist --dir "$SRV" 2>&1) &&
		fail "user add $1 accepted '$2'"
	expect_contains "$out" "$3" "user add refuses '$2': $3"
}
refused_add bobby "Sh0rt-pw!" "too short"
refused_add bobby "password1234" "too common"
refused_add bobby "QwertyUiop123" "too common"
refused_add bobby "aaaaaaaaaaaaaaaa" "too common"
refused_add bobby "my-BOBBY-is-strong-77" "contains the user name"
out=$(tether-server audit list --dir "$SRV" | grep -c '"user":"bobby"' || true)
[ "$out" -eq 0 ] || fail "a refused user was added"
pass "no refused user was created"

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
out=$(printf 'password1234\n' | tether-server user reset-password bob --dir "$SRV" 2>&1) &&
	fail "a reset to a common password was accepted"
expect_contains "$out" "too common" "a reset to a common password is refused"
TEMP_PW="Temporary-Reset-7781"
out=$(TETHER_PASSWORD="$TEMP_PW" tether-server user reset-password bob --dir "$SRV" 2>&1) ||
	fail "reset-password: $out"
expect_contains "$out" "must be changed at the next login" "reset-password forces a change"
[ "$(status_with "$bob_token")" = 401 ] || fail "bob's token survived the reset"
pass "the reset revokes bob's tokens"
expect_contains "$(audit | grep password_reset)" '"user":"bob"' "the reset is audited password_reset"
rc=0
out=$(TETHER_HOME="$WORK/cli-bob" TETHER_PASSWORD="$TEMP_PW" TETHER_TOTP="$(totp_code bob)" \
	tether login --server "$URL" --ca "$SRV/ca/root.crt" --user bob 2>&1) || rc=$?
[ "$rc" -eq 3 ] || fail "login after the reset exited $rc, want 3: $out"
expect_contains "$out" "tether password" "the login after a reset says to change the password"
[ "$(status_with "$(token_of "$WORK/cli-bob")")" = 403 ] || fail "the setup login reached /api/v1/devices"
pass "until the change, the login is setup-only"
out=$(change "$TEMP_PW" "My-Own-Secret-Phrase-5x" "$WORK/cli-bob") || fail "bob's change failed: $out"
TETHER_HOME="$WORK/cli-bob" tether devices >/dev/null || fail "bob has no full login after the change"
pass "after the change bob has a full login"

#!/bin/sh
# API tokens are short-lived and revocable (small token_ttl_s and
# token_idle_s in this deployment): a token unused for longer than
# token_idle_s is refused ("idle too long") and stays dead; a token used
# steadily still ends at token_ttl_s; logout revokes the token; `tether-server
# user revoke-tokens` revokes every token of a user (audited
# tokens_revoked); tokens are stored only as hashes.
. "$(dirname "$0")/lib.sh"

deploy 0
set_server_conf token_idle_s 3
set_server_conf token_ttl_s 8
restart_server
URL="https://127.0.0.1:$SERVER_PORT"
token_of() { sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$1/cli.json"; }
get_devices() { # get_devices TOKEN: HTTP status, then the body
	curl -s -o "$WORK/answer.json" -w '%{http_code}' --cacert "$SRV/ca/root.crt" \
		-H "Authorization: Bearer $1" "$URL/api/v1/devices"
}
login_home() { # login_home USER PASSWORD HOME
	TETHER_HOME="$3" TETHER_PASSWORD="$2" TETHER_TOTP="$(totp_code "$1")" tether login \
		--server "$URL" --ca "$SRV/ca/root.crt" --user "$1" >"$WORK/login-$1.log" 2>&1 ||
		fail "login $1: $(cat "$WORK/login-$1.log")"
}
after() { # after SECONDS: wait until that many seconds from now have passed
	end=$(( $(date +%s) + $1 ))
	wait_for $(($1 + 3)) sh -c "[ \$(date +%s) -gt $end ]" || fail "clock did not move"
}

cli_login
expect_contains "$(tether --json devices)" "devices" "a fresh token works"
token=$(token_of "$TETHER_HOME")
if sqlite3 "$SRV/tether.db" "SELECT hash FROM api_tokens" | grep -qF "$token"; then
	fail "a token is stored in clear"
fi
pass "tokens are stored hashed"

# ---- idle timeout -----------------------------------------------------------------
after 4
[ "$(get_devices "$token")" = 401 ] || fail "an idle token was accepted"
expect_contains "$(cat "$WORK/answer.json")" "idle too long" "a token idle past token_idle_s is refused"
[ "$(get_devices "$token")" = 401 ] || fail "an idle token came back"
expect_contains "$(cat "$WORK/answer.json")" "revoked" "an idle token stays dead"

# ---- expiry despite steady use ---------------------------------------------------------
BOB_PW=$(random_password)
add_user_pw bob "$BOB_PW"
mfa_enroll bob "$BOB_PW" "$WORK/cli-bob"
btoken=$(token_of "$WORK/cli-bob")
ok=0
i=0
while [ $i -lt 12 ]; do
	code=$(get_devices "$btoken")
	[ "$code" = 200 ] || break
	ok=$((ok + 1))
	sleep 1
	i=$((i + 1))
done
[ "$ok" -ge 2 ] || fail "a token in steady use failed early (HTTP $code)"
[ "$code" = 401 ] || fail "a token in steady use outlived token_ttl_s"
expect_contains "$(cat "$WORK/answer.json")" "expired" "a token in steady use ends at token_ttl_s"

# ---- logout -------------------------------------------------------------------------
cli_login
token=$(token_of "$TETHER_HOME")
tether logout >/dev/null || fail "logout failed"
[ "$(get_devices "$token")" = 401 ] || fail "the token works after logout"
expect_contains "$(cat "$WORK/answer.json")" "revoked" "logout revokes the token"

# ---- an administrator revokes every token of a user ---------------------------------
login_home bob "$BOB_PW" "$WORK/cli-bob"
login_home bob "$BOB_PW" "$WORK/cli-bob2"
t1=$(token_of "$WORK/cli-bob")
t2=$(token_of "$WORK/cli-bob2")
[ "$(get_devices "$t1")" = 200 ] && [ "$(get_devices "$t2")" = 200 ] || fail "bob's logins do not work"
out=$(tether-server user revoke-tokens bob --dir "$SRV" 2>&1) || fail "revoke-tokens: $out"
expect_contains "$out" "2 tokens revoked" "revoke-tokens reports the two live tokens"
[ "$(get_devices "$t1")" = 401 ] && [ "$(get_devices "$t2")" = 401 ] ||
	fail "a token survived revoke-tokens"
pass "revoke-tokens ends every login of the user"
expect_contains "$(tether-server audit list --dir "$SRV" | grep tokens_revoked)" \
	'"user":"bob","count":2' "the revocation is audited tokens_revoked with the count"
out=$(tether-server user revoke-tokens nobody --dir "$SRV" 2>&1) && fail "revoke-tokens of an unknown user succeeded"
expect_contains "$out" "no such user" "revoke-tokens names an unknown user"

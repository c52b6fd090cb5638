#!/bin/sh
# Lockout with exponential backoff, per account and per source address
# (small login.* values in this deployment): after login.max_failures
# failures the account is locked, and each further failure after a lock
# doubles it up to login.lock_max_s; while locked even the right password
# and code are refused (429); unknown user names lock the same way (no
# enumeration); `user unlock` lifts a lock at once; enough failures from one
# address lock that address for every account; `user unlock --addr` lifts
# it. Every failure is audited with its reason, every lock as login_locked.
. "$(dirname "$0")/lib.sh"

deploy 0
set_server_conf login.max_failures 3
set_server_conf login.addr_max_failures 10
# Locks long enough that a login under ASan on a loaded machine still
# lands inside one (the checks below never depend on how long a step took).
set_server_conf login.lock_base_s 6
set_server_conf login.lock_max_s 24
restart_server
URL="https://127.0.0.1:$SERVER_PORT"
audit() { tether-server audit list --dir "$SRV"; }
login_as() { # login_as USER PASSWORD [CODE]
	TETHER_PASSWORD="$2" tether login --server "$URL" --ca "$SRV/ca/root.crt" --user "$1" \
		${3:+--totp "$3"} </dev/null 2>&1
}
lock_s() { # lock_s KEY VALUE: lock_s of the last login_locked record for it
	audit | grep login_locked | grep "\"$1\":\"$2\"" | tail -1 |
		sed -n 's/.*"lock_s":\([0-9]*\).*/\1/p'
}
# The right code now, without marking its step used: a locked login is
# refused before the code is looked at, so the server does not spend it.
code_now() { oathtool --totp -b "$(cat "$WORK/totp.$1")"; }
locked_until_over() { # locked_until_over USER: wait for the user's lock to end
	u=$(audit | grep login_locked | grep "\"user\":\"$1\"" | tail -1 |
		sed -n 's/.*"until":\([0-9]*\).*/\1/p')
	wait_for 40 sh -c "[ \$(date +%s) -gt $u ]" || fail "the lock of $1 never ended"
}

cli_login
BOB_PW=$(random_password)
add_user_pw bob "$BOB_PW"
mfa_enroll bob "$BOB_PW" "$WORK/cli-bob"

# ---- per account, with backoff ----------------------------------------------------
for i in 1 2 3; do
	out=$(login_as "$SPEC_USER" "wrong-password-$i") && fail "a wrong password logged in"
done
expect_contains "$out" "wrong user name or password" "the third failure is still a plain refusal"
[ "$(lock_s user "$SPEC_USER")" = 6 ] || fail "the first lock is not login.lock_base_s (6 s)"
pass "three failures lock the account for 6 s (audited login_locked)"
out=$(login_as "$SPEC_USER" "$SPEC_PW" "$(code_now "$SPEC_USER")") && fail "logged in while locked"
expect_contains "$out" "try again in" "the right password and code are refused while locked"
expect_contains "$out" "ask an administrator to unlock" "the refusal says how to get unlocked"
expect_contains "$(audit | grep login_failed | tail -1)" '"reason":"locked"' "the locked attempt is audited reason locked"

locked_until_over "$SPEC_USER"
out=$(login_as "$SPEC_USER" "wrong-password-4") && fail "a wrong password logged in"
[ "$(lock_s user "$SPEC_USER")" = 12 ] || fail "the second lock did not double to 12 s"
pass "a failure after the lock doubles it (12 s)"
locked_until_over "$SPEC_USER"
out=$(login_as "$SPEC_USER" "wrong-password-5") && fail "a wrong password logged in"
[ "$(lock_s user "$SPEC_USER")" = 24 ] || fail "the third lock did not double to 24 s"
pass "... and again (24 s = login.lock_max_s)"
out=$(login_as "$SPEC_USER" "$SPEC_PW" "$(code_now "$SPEC_USER")") && fail "logged in while locked"
expect_contains "$out" "try again in" "still locked"

out=$(tether-server user unlock "$SPEC_USER" --dir "$SRV" 2>&1) || fail "unlock: $out"
expect_contains "$out" "cleared" "the administrator unlocks the account"
expect_contains "$(audit | grep user_unlock)" "\"user\":\"$SPEC_USER\"" "the unlock is audited user_unlock"
out=$(login_as "$SPEC_USER" "$SPEC_PW" "$(totp_code "$SPEC_USER")") || fail "login after unlock: $out"
pass "after the unlock the right password and code log in at once"

# ---- unknown user names lock the same way -------------------------------------------
for i in 1 2 3; do
	out=$(login_as nosuchuser "some-password-$i") && fail "an unknown user logged in"
done
expect_contains "$out" "wrong user name or password" "an unknown name gets the same answer as a wrong password"
out=$(login_as nosuchuser "some-password-4") && fail "an unknown user logged in"
expect_contains "$out" "try again in" "an unknown name locks like a real one"
expect_contains "$(audit | grep login_failed)" '"reason":"unknown_user"' "unknown names are audited unknown_user"

# ---- per source address ----------------------------------------------------------------
# Start the address's count afresh (a counter also starts again after
# login.lock_max_s without failures), then ten failures over ten names.
tether-server user unlock bob --addr 127.0.0.1 --dir "$SRV" >/dev/null 2>&1 || fail "unlock --addr"
for u in u1 u2 u3 u4 u5 u6 u7 u8 u9; do
	out=$(login_as "$u" "guess-password-1") && fail "$u logged in"
done
out=$(login_as bob "guess-password-1") && fail "bob logged in with a wrong password"
expect_contains "$(audit | grep login_locked | grep '"addr"' | tail -1)" '"addr":"127.0.0.1"' "ten failures lock the address (audited login_locked addr)"
out=$(login_as bob "$BOB_PW" "$(code_now bob)") && fail "bob logged in from a locked address"
expect_contains "$out" "from this address" "a locked address refuses every account"
out=$(tether-server user unlock bob --addr 127.0.0.1 --dir "$SRV" 2>&1) || fail "unlock --addr: $out"
expect_contains "$out" "address 127.0.0.1: failed-login count and lock cleared" "the administrator unlocks the address"
out=$(login_as bob "$BOB_PW" "$(totp_code bob)") || fail "bob after the address unlock: $out"
pass "after unlocking the address bob logs in"
for r in bad_password unknown_user locked; do
	expect_contains "$(audit | grep login_failed)" "\"reason\":\"$r\"" "failures audited with reason $r"
done
expect_contains "$(audit | grep login_failed | head -1)" '"addr":"127.0.0.1"' "failures name the source address"

#!/bin/sh
# The CLI remembers: after the first login, `tether login` alone logs in
# again to the same server, CA and user (the profile "default"), and a
# second profile (--profile NAME or TETHER_PROFILE) keeps another account
# beside it, each used by its own commands.
. "$(dirname "$0")/lib.sh"

deploy 1
cli_login
tether logout >/dev/null || fail "logout"
tether devices >/dev/null 2>&1 && fail "devices worked after logout"
code=$(totp_code "$SPEC_USER")
out=$(TETHER_PASSWORD="$SPEC_PW" TETHER_TOTP="$code" tether login 2>&1) ||
	fail "login without flags: $out"
expect_contains "$out" "profile default: https://127.0.0.1:$SERVER_PORT as $SPEC_USER" \
	"login without flags names the kept server and user"
expect_contains "$out" "logged in to" "the login from the profile works"
tether devices >/dev/null || fail "devices after the profile login"

# a second account in its own profile, beside the first
add_user_pw bob "$SPEC_PW" specialist 1
export TETHER_PROFILE=work2
mfa_enroll bob "$SPEC_PW"
unset TETHER_PROFILE
[ -f "$TETHER_HOME/cli-work2.json" ] || fail "no file for profile work2"
expect_contains "$(cat "$TETHER_HOME/cli-work2.json")" \
	'"user": "bob"' "profile work2 keeps bob"
tether --profile work2 devices >/dev/null || fail "devices as bob in profile work2"
expect_contains "$(cat "$TETHER_HOME/cli.json")" "\"user\": \"$SPEC_USER\"" \
	"the default profile still holds the first user"
code=$(totp_code bob)
out=$(TETHER_PASSWORD="$SPEC_PW" TETHER_TOTP="$code" tether --profile work2 login 2>&1) ||
	fail "login to profile work2 without flags: $out"
expect_contains "$out" "profile work2: https://127.0.0.1:$SERVER_PORT as bob" \
	"profile work2 logs bob in again without flags"

# at a terminal the password is asked for and never echoed (a pty; the
# one-time code is asked for on /dev/tty after it)
code=$(totp_code bob)
out=$(TETHER_PROFILE=work2 PW="$SPEC_PW" CODE="$code" timeout 20 \
	python3 "$TETHER_SRC/tests/e2e/helpers/ptyrun.py" 15 "password for" PW "one-time code" CODE \
	-- tether login 2>&1) || fail "login at a terminal: $out"
expect_contains "$out" "logged in to" "a login at a terminal works"
expect_not_contains "$out" "$SPEC_PW" "the password typed at the terminal is not echoed"

# no profile yet: the flags are asked for; a bad profile name is refused
out=$(tether --profile fresh login 2>&1 </dev/null) && fail "login with an empty profile succeeded"
expect_contains "$out" "required the first time (profile fresh keeps them after)" \
	"an empty profile asks for the flags"
out=$(tether --profile ../x devices 2>&1) && fail "a profile name with a slash was taken"
expect_contains "$out" "--profile needs a name" "a bad profile name is refused"
pass "CLI profiles"

#!/bin/sh
# An account starts with a one-time enrollment code, not a password the
# administrator chose: the code works once, for its user, until it expires
# (a second use, a wrong code and an expired one are refused with clear
# errors and audited); the user chooses the password and enrolls TOTP with
# the setup login it gives. The administrator never sees the password.
. "$(dirname "$0")/lib.sh"

deploy 1
URL="https://127.0.0.1:$SERVER_PORT"
audit() { tether-server audit list --dir "$SRV"; }
# enroll NAME CODE PASSWORD [HOME]: tether enroll, the code on stdin's first
# line and the password on its second (never argv)
enroll() {
	printf '%s\n%s\n' "$2" "$3" | TETHER_HOME="${4:-$WORK/cli-$1}" tether enroll \
		--server "$URL" --ca "$SRV/ca/root.crt" --user "$1" 2>&1
}

# the administrator's side: a code on stdout, no password asked or shown
code=$(tether-server user add carol --role specialist --level 2 --region US --dir "$SRV" \
	2>"$WORK/add.log" </dev/null) || fail "user add: $(cat "$WORK/add.log")"
printf '%s' "$code" | grep -Eq '^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$' ||
	fail "user add printed '$code', not an enrollment code"
pass "user add prints a one-time enrollment code"
expect_contains "$(cat "$WORK/add.log")" "valid once, until" "user add says the code's life"
expect_contains "$(audit | grep user_invite)" '"user":"carol"' "the code is audited user_invite"
expect_not_contains "$(sqlite3 "$SRV/tether.db" 'SELECT hash FROM user_invites')" \
	"$(printf '%s' "$code" | tr -d -)" "only the code's hash is stored"
out=$(TETHER_PASSWORD=whatever tether login --server "$URL" --ca "$SRV/ca/root.crt" --user carol 2>&1) &&
	fail "a user with an unused code logged in with a password"
expect_contains "$out" "wrong user name or password" "before the code is used there is no password"

# a wrong code, then the right one, then the right one again
CAROL_PW=$(random_password)
out=$(enroll carol "ABCD-EFGH-JKLM-NPQR" "$CAROL_PW") && fail "a wrong code was accepted"
expect_contains "$out" "not a valid enrollment code for carol" "a wrong code is refused"
out=$(enroll carol "$code" "$CAROL_PW") || fail "the code was refused: $out"
expect_contains "$out" "password set for carol" "the code lets carol choose her password"
expect_contains "$out" "tether mfa enroll" "and says to enroll TOTP next"
expect_contains "$(audit | grep enrollment_code_used)" '"user":"carol"' "its use is audited enrollment_code_used"
out=$(enroll carol "$code" "$(random_password)" "$WORK/cli-thief") && fail "a code was used twice"
expect_contains "$out" "already used" "a second use is refused"
expect_contains "$(audit | grep enrollment_code_refused)" '"reason":"wrong"' "the wrong code is audited"
expect_contains "$(audit | grep enrollment_code_refused)" '"reason":"used"' "the second use is audited"

# the setup login from the code enrolls TOTP; then carol logs in fully
TETHER_HOME="$WORK/cli-carol" tether --json mfa enroll >"$WORK/mfa.json" || fail "mfa enroll"
jq -r .secret "$WORK/mfa.json" >"$WORK/totp.carol"
totp_code carol | TETHER_HOME="$WORK/cli-carol" tether --json mfa confirm >/dev/null ||
	fail "mfa confirm with the code on stdin"
TETHER_HOME="$WORK/cli-carol" tether devices >/dev/null || fail "carol has no full login"
pass "the code, the password and TOTP give carol a full login"
printf '%s\n' "$CAROL_PW" | TETHER_HOME="$WORK/cli-carol2" TETHER_TOTP="$(totp_code carol)" \
	tether login --server "$URL" --ca "$SRV/ca/root.crt" --user carol >/dev/null 2>&1 ||
	fail "carol cannot log in with the password she chose"
pass "carol logs in with the password she chose"

# an expired code (its expiry moved into the past) is refused and audited
code=$(tether-server user add dan --role specialist --expires 2h --dir "$SRV" 2>>"$WORK/add.log") ||
	fail "user add dan --expires 2h"
exp=$(audit | grep user_invite | grep '"user":"dan"' | sed -n 's/.*"expires_at":\([0-9]*\).*/\1/p')
now=$(date +%s)
[ $((exp - now)) -gt 7100 ] && [ $((exp - now)) -le 7200 ] || fail "--expires 2h gave $((exp - now)) s"
pass "--expires sets the code's life"
sqlite3 "$SRV/tether.db" "UPDATE user_invites SET expires_at = $now - 1 WHERE user = 'dan';"
out=$(enroll dan "$code" "$(random_password)") && fail "an expired code was accepted"
expect_contains "$out" "has expired" "an expired code is refused"
expect_contains "$out" "tether-server user invite dan" "and the user is told how to get a new one"
expect_contains "$(audit | grep enrollment_code_refused)" '"reason":"expired"' "the expired code is audited"
rc=0
tether-server user add erin --role specialist --expires 0 --dir "$SRV" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "user add --expires 0 exited $rc"
pass "a zero life is refused"

# a new code (user invite) replaces the expired one
code=$(tether-server user invite dan --dir "$SRV" 2>>"$WORK/add.log") || fail "user invite dan"
DAN_PW=$(random_password)
out=$(enroll dan "$code" "$DAN_PW") || fail "the re-issued code was refused: $out"
pass "user invite issues a working code"

# the administrator never saw a password: none in what the commands printed,
# the audit trail or the database in clear
for pw in "$CAROL_PW" "$DAN_PW"; do
	expect_not_contains "$(cat "$WORK/add.log" "$WORK/init.log")" "$pw" "no password in the admin's output"
	expect_not_contains "$(audit)" "$pw" "no password in the audit trail"
	expect_not_contains "$(sqlite3 "$SRV/tether.db" 'SELECT pwhash FROM users')" "$pw" \
		"no password in the database"
done

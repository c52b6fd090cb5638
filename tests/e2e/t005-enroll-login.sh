#!/bin/sh
# Enrollment and login through the real binaries: the CA fingerprint is
# pinned, the device key is made on the device and kept 0600, an enrollment
# token works once and only for its serial; a wrong password is refused and
# audited, and logout revokes the token at the server.
. "$(dirname "$0")/lib.sh"

deploy 1
conf() {
	mkdir -p "$WORK/$1"
	printf 'server = https://127.0.0.1:%s\nserial = %s\nstate_dir = %s\nservice.http = 127.0.0.1:9\n' \
		"$SERVER_PORT" "$1" "$WORK/$1/state" >"$WORK/$1/tether-agent.conf"
	printf '%s\n' "$SUPPORT_PW" >"$WORK/$1/pw"
}
enroll() { # enroll SERIAL-DIR TOKEN FINGERPRINT
	tether-agent enroll --config "$WORK/$1/tether-agent.conf" --token "$2" \
		--ca-fingerprint "$3" --support-password-file "$WORK/$1/pw" 2>&1
}
conf SN-E1
token=$(enroll_token SN-E1)

wrong_fp=$(printf '%064d' 0)
out=$(enroll SN-E1 "$token" "$wrong_fp") && fail "enrolled with a wrong CA fingerprint"
expect_contains "$out" "fingerprint" "a wrong CA fingerprint is refused"
[ ! -e "$WORK/SN-E1/state/device.key" ] || fail "a key was stored after the refusal"
pass "nothing stored after the refusal"

out=$(enroll SN-E1 "$token" "$CA_FP") || fail "enroll: $out"
pass "enrolled with the pinned fingerprint"
for f in device.key ssh_hostkey support.hash; do
	mode=$(stat -c %a "$WORK/SN-E1/state/$f")
	[ "$mode" = 600 ] || fail "$f is mode $mode, expected 600"
done
[ "$(stat -c %a "$WORK/SN-E1/state")" = 700 ] || fail "state_dir is not 0700"
pass "device key, host key and support hash are 0600 in a 0700 state_dir"
key_line=$(sed -n 2p "$WORK/SN-E1/state/device.key")
if grep -rqF "$key_line" "$SRV"; then fail "the device's private key is on the server"; fi
pass "the device's private key never reached the server"

conf SN-E2
out=$(enroll SN-E2 "$token" "$CA_FP") && fail "a used token enrolled a second device"
expect_contains "$out" "401" "a used enrollment token is refused"
other=$(enroll_token SN-E3)
out=$(enroll SN-E2 "$other" "$CA_FP") && fail "SN-E3's token enrolled SN-E2"
expect_contains "$out" "401" "a token for another serial is refused"

out=$(TETHER_PASSWORD="not-the-password-1" tether login --server "https://127.0.0.1:$SERVER_PORT" \
	--ca "$SRV/ca/root.crt" --user "$SPEC_USER" 2>&1) && fail "a wrong password logged in"
expect_contains "$out" "wrong user name or password" "a wrong password is refused"
expect_contains "$(tether-server audit list --dir "$SRV")" "login_failed" "the failed login is audited"

cli_login
old=$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$TETHER_HOME/cli.json")
tether logout >/dev/null || fail "logout failed"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$SRV/ca/root.crt" \
	-H "Authorization: Bearer $old" "https://127.0.0.1:$SERVER_PORT/api/v1/devices")
[ "$code" = 401 ] || fail "the token still works after logout (HTTP $code)"
pass "logout revokes the token at the server"

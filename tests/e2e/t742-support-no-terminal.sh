#!/bin/sh
# A connection with no terminal burns no support-password attempts: OpenSSH
# without a terminal or askpass sends empty passwords, and key offers and
# "none" probes come first; none of them counts. support-password --help
# and --status work.
. "$(dirname "$0")/lib.sh"

tether-agent support-password --help >"$WORK/help.out" || fail "support-password --help failed"
expect_contains "$(cat "$WORK/help.out")" "--generate" "support-password --help says how to use it"
full_stack 1
conf="$AGENT_DIR/tether-agent.conf"
agent_audit_mark
ssh-keygen -q -t ed25519 -N '' -f "$WORK/probe-key" || fail "ssh-keygen"

if support_ssh - 3 -o BatchMode=no -o IdentitiesOnly=yes -i "$WORK/probe-key" \
	-o PreferredAuthentications=none,publickey,password; then
	fail "a connection without a password got in"
fi
recs=$(support_records auth_failed)
n=$(printf '%s\n' "$recs" | grep -c "empty password; not counted" || true)
[ "$n" -ge 1 ] || { printf '%s\n' "$recs" >&2; fail "the empty passwords never reached the device"; }
pass "$n empty passwords from a connection with no terminal were refused, audited"
expect_not_contains "$recs" "wrong password" "none of them counted as a wrong password"
expect_contains "$(support_status)" "not locked; 0 wrong passwords" "the failure count stayed 0"

tether-agent support-password --generate --config "$conf" >"$WORK/gen.out" 2>"$WORK/gen.err" ||
	fail "support-password --generate: $(cat "$WORK/gen.err")"
pw=$(sed -n 's/.*through your vault): //p' "$WORK/gen.out")
[ "${#pw}" -ge 20 ] || fail "no generated password printed: $(cat "$WORK/gen.out")"
expect_not_contains "$(cat "$AGENT_DIR/state/audit.log")" "$pw" "the generated password is not audited"
expect_contains "$(support_records support_password_set)" "generated" "the generation is audited"

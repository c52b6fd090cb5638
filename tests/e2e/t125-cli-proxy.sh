#!/bin/sh
# The specialist's `tether` reaches the server and the relay only through an
# HTTP CONNECT proxy with Basic credentials (tinyproxy): `login --proxy`
# keeps the proxy for every later command, devices are listed and a
# `tether forward` fetch works, and the proxy's log shows CONNECTs to the
# server port and the relay's client port. HTTPS_PROXY / NO_PROXY apply when
# no --proxy was given. A wrong proxy password makes `tether login` say so
# clearly; the password is never printed.
. "$(dirname "$0")/lib.sh"

command -v tinyproxy >/dev/null || fail "tinyproxy is not installed (scripts/deps installs it)"
unset HTTPS_PROXY https_proxy NO_PROXY no_proxy

PROXY_USER=tether
PROXY_PASS=cl1ProxyPassw0rd
# The agent goes direct: every CONNECT in the proxy's log is the CLI's.
full_stack 1

start_proxy "$PROXY_PASS" "$SERVER_PORT" "$RELAY_1_CLIENT_PORT"
GOOD_PROXY="http://$PROXY_USER:$PROXY_PASS@127.0.0.1:$PROXY_PORT"

# Every login needs a fresh TOTP step of its user, so the logins that only
# test the proxy handling are spread over two more accounts (bob, carol).
OTHER_PW=$(random_password)
for u in bob carol; do
	add_user_pw "$u" "$OTHER_PW"
	mfa_enroll "$u" "$OTHER_PW" "$WORK/cli-$u"
done

# proxy_login OUTFILE [login args...]: log in as $LOGIN_USER (default: the
# specialist) with a fresh one-time code.
proxy_login() {
	out=$1; shift
	lu=${LOGIN_USER:-$SPEC_USER}
	lpw=$SPEC_PW
	[ "$lu" = "$SPEC_USER" ] || lpw=$OTHER_PW
	code=$(totp_code "$lu")
	TETHER_PASSWORD="$lpw" TETHER_TOTP="$code" tether login --server "https://127.0.0.1:$SERVER_PORT" \
		--ca "$SRV/ca/root.crt" --user "$lu" "$@" >"$WORK/$out" 2>&1
}

# 1. HTTPS_PROXY applies when login has no --proxy, and is not stored.
LOGIN_USER=bob HTTPS_PROXY="$GOOD_PROXY" proxy_login login-env.log ||
	fail "login through HTTPS_PROXY: $(cat "$WORK/login-env.log")"
expect_contains "$(cat "$WORK/login-env.log")" "via proxy 127.0.0.1:$PROXY_PORT" "login reports the HTTPS_PROXY it used"
expect_not_contains "$(cat "$TETHER_HOME/cli.json")" "proxy" "a proxy from the environment is not stored"
# ... unless NO_PROXY names the server.
LOGIN_USER=carol NO_PROXY=127.0.0.1 HTTPS_PROXY="$GOOD_PROXY" proxy_login login-noproxy.log ||
	fail "login with NO_PROXY: $(cat "$WORK/login-noproxy.log")"
expect_not_contains "$(cat "$WORK/login-noproxy.log")" "via proxy" "NO_PROXY sends login direct"

# 2. A wrong proxy password: a clear error, exit 1, nothing leaked.
if LOGIN_USER=bob proxy_login login-bad.log --proxy "http://$PROXY_USER:wrong-password@127.0.0.1:$PROXY_PORT"; then
	fail "login through the proxy with a wrong password succeeded"
fi
bad=$(cat "$WORK/login-bad.log")
expect_contains "$bad" "proxy authentication required" "login with a wrong proxy password says so"
expect_contains "$bad" "127.0.0.1:$PROXY_PORT" "the error names the proxy"
expect_not_contains "$bad" "wrong-password" "the error does not show the password"
expect_not_contains "$(cat "$TETHER_HOME/cli.json")" "wrong-password" "a failed login stores nothing"
# A malformed --proxy is a usage error that does not echo the value.
rc=0
LOGIN_USER=carol proxy_login login-malformed.log --proxy "https://$PROXY_USER:s3cretish@127.0.0.1:$PROXY_PORT" || rc=$?
[ "$rc" -eq 2 ] || fail "a malformed --proxy exited $rc, want 2"
expect_not_contains "$(cat "$WORK/login-malformed.log")" "s3cretish" "the usage error does not show the URL"

# 3. login --proxy: kept in cli.json (0600) and used by every command.
unset LOGIN_USER   # (some shells keep a prefix assignment after a function)
: >"$WORK/tinyproxy.log"
proxy_login login.log --proxy "$GOOD_PROXY" || fail "login --proxy: $(cat "$WORK/login.log")"
expect_contains "$(cat "$WORK/login.log")" "via proxy 127.0.0.1:$PROXY_PORT" "login --proxy reports the proxy"
expect_not_contains "$(cat "$WORK/login.log")" "$PROXY_PASS" "login output does not show the proxy password"
expect_contains "$(cat "$TETHER_HOME/cli.json")" "\"proxy\"" "the --proxy URL is stored"
[ "$(stat -c %a "$TETHER_HOME/cli.json")" = 600 ] || fail "cli.json is not 0600"
code=$(totp_code "$SPEC_USER")
expect_contains "$(TETHER_TOTP="$code" tether --json login --server "https://127.0.0.1:$SERVER_PORT" \
	--ca "$SRV/ca/root.crt" --user "$SPEC_USER" --proxy "$GOOD_PROXY" 2>&1 <<PW
$SPEC_PW
PW
)" "\"proxy\": \"127.0.0.1:$PROXY_PORT\"" "--json login names the proxy by host:port"

# The stored proxy wins over the environment (a dead HTTPS_PROXY here).
line=$(HTTPS_PROXY="http://127.0.0.1:1" tether devices) || fail "devices through the stored proxy failed"
expect_contains "$line" "$SERIAL" "devices listed through the proxy"
expect_contains "$(printf '%s\n' "$line" | grep "$SERIAL")" "online" "the device shows online"

LPORT=$(free_port)
start_forward "$LPORT"
page=$(fetch "$LPORT")
expect_contains "$page" "device $SERIAL status page: all systems nominal" "device page fetched with the client leg through the proxy"
kill "$PID_forward"

plog=$(cat "$WORK/tinyproxy.log")
expect_contains "$plog" "CONNECT 127.0.0.1:$SERVER_PORT " "proxy log shows CONNECT to the server"
expect_contains "$plog" "CONNECT 127.0.0.1:$RELAY_1_CLIENT_PORT " "proxy log shows CONNECT to the relay client port"
expect_not_contains "$(cat "$WORK"/login*.log "$WORK/forward.log")" "$PROXY_PASS" "no CLI output shows the proxy password"

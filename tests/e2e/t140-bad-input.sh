#!/bin/sh
# Bad input never crashes a daemon and never loses data: each bad request
# gets a clear error (and a log line and an audit record where one belongs),
# the daemon keeps serving, and a full forwarded session still works at the
# end with every audit trail intact.
. "$(dirname "$0")/lib.sh"

full_stack 1
RELAY_CONF="$SRV/relays/relay-1/tether-relay.conf"
RELAY_AUDIT="$SRV/relays/relay-1/audit.log"
SOCK="$AGENT_DIR/consent.sock"

# call METHOD PATH [CURL ARGS...]: one HTTPS request; prints "STATUS BODY".
call() {
	method=$1; path=$2; shift 2
	code=$(curl -sS --max-time 20 --cacert "$SRV/ca/root.crt" -X "$method" \
		-o "$WORK/resp.body" -w '%{http_code}' "$@" \
		"https://127.0.0.1:$SERVER_PORT$path" 2>"$WORK/resp.err") || true
	printf '%s %s\n' "${code:-000}" "$(cat "$WORK/resp.body" 2>/dev/null)"
}

# expect_error RESPONSE STATUS CODE WHAT: a JSON error of that status and code.
expect_error() {
	case "$1" in
	"$2 "*'"error":"'"$3"'"'*'"message":'*) pass "$4 -> $2 $3" ;;
	*) printf 'got: %.300s\n' "$1" >&2; fail "$4: expected $2 {\"error\":\"$3\",...}" ;;
	esac
}

# expect_status RESPONSE STATUS WHAT: for answers libevent writes itself.
expect_status() {
	case "$1" in
	"$2 "*) pass "$3 -> $2" ;;
	*) printf 'got: %.300s\n' "$1" >&2; fail "$3: expected status $2" ;;
	esac
}

alive() {
	kill -0 "$2" 2>/dev/null || fail "$1 (pid $2) died"
	pass "$1 still running"
}

user_token() { sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$TETHER_HOME/cli.json"; }

# server_serves: a fresh login and a device listing still work. Logins after
# the first use the next recovery code: a TOTP code is good once per 30 s
# step, and this test logs in more often than that.
server_serves() {
	alive tether-server "$PID_server"
	if [ -z "${SERVED:-}" ]; then
		cli_login
		SERVED=0
	else
		code=$(jq -r ".recovery_codes[$SERVED]" "$WORK/recovery.$SPEC_USER.json")
		TETHER_PASSWORD="$SPEC_PW" tether login --server "https://127.0.0.1:$SERVER_PORT" \
			--ca "$SRV/ca/root.crt" --user "$SPEC_USER" --recovery-code "$code" \
			>"$WORK/login.log" 2>&1 || fail "login with a recovery code: $(cat "$WORK/login.log")"
		SERVED=$((SERVED + 1))
	fi
	tether --json devices | grep -q "\"serial\": *\"$SERIAL\"" ||
		fail "the device list lost $SERIAL"
	pass "server still serves: login works, $SERIAL still registered"
}

junk() { head -c "$1" /dev/zero | tr '\0' "${2:-A}"; }

# ---- server API: bodies -----------------------------------------------------
AUTH="Authorization: Bearer $(user_token)"
JSON='Content-Type: application/json'

r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data '{"device": "'"$SERIAL"'", "reason":')
expect_error "$r" 400 bad_request "truncated JSON"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data '["not", "an", "object"]')
expect_error "$r" 400 bad_request "a JSON array instead of an object"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data '')
expect_error "$r" 400 bad_request "an empty body"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data '{"device": 42, "reason": "TCK-1"}')
expect_error "$r" 400 bad_request "a number where a serial belongs"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data '{"device": "'"$SERIAL"'", "reason": ["TCK-1"]}')
expect_error "$r" 400 bad_request "an array where a reason belongs"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data '{"device": "'"$SERIAL"'", "reason": "TCK-1", "services": "http"}')
expect_error "$r" 400 bad_request "a string where the services array belongs"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data '{"device": "'"$SERIAL"'", "reason": "TCK-1", "device": "x"}')
expect_error "$r" 400 bad_request "a duplicated key"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data '{"device": "../../etc/passwd", "reason": "TCK-1"}')
expect_error "$r" 400 bad_request "a path where a serial belongs"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data '{"device": "'"$SERIAL"'", "reason": "TCK-1\u0000; rm -rf /"}')
expect_error "$r" 400 bad_request "a NUL byte (\\u0000) in the reason"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data '{"device": "'"$SERIAL"'", "reason": "TCK-1\nforged: log line"}')
expect_error "$r" 400 bad_request "a newline in the reason"
printf '{"device": "%s", "reason": "TCK-1\000raw"}' "$SERIAL" >"$WORK/nul.json"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data-binary @"$WORK/nul.json")
expect_error "$r" 400 bad_request "a raw NUL byte in the body"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data '{"device": "'"$SERIAL"'", "reason": "'"$(junk 300 R)"'"}')
expect_error "$r" 400 bad_request "a reason longer than the limit"
{ printf '{"device": "%s", "reason": "TCK-1", "pad": "' "$SERIAL"; junk 300000 P; printf '"}'; } >"$WORK/huge.json"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" --data-binary @"$WORK/huge.json")
# libevent 2.1 refuses it before our handler runs and writes its own HTML page
# (it has no error callback); the status is what we can promise.
expect_status "$r" 413 "a body larger than MAX_HTTP_BODY_BYTES"
r=$(call POST /api/v1/sessions -H "$AUTH" -H "$JSON" -H "X-Junk: $(junk 10000 H)" --data '{}')
expect_status "$r" 400 "a header larger than MAX_HTTP_HEADERS_BYTES"
# none of the refused requests left a session behind for the operator
[ -z "$(agent_consent list | grep -o '[0-9a-f]\{32\}' || true)" ] ||
	fail "a refused request reached the operator"
pass "no refused request reached the operator"
server_serves

# ---- server API: paths, methods, tokens, certificates -----------------------
AUTH="Authorization: Bearer $(user_token)"
r=$(call GET /api/v1/nothing-here -H "$AUTH")
expect_error "$r" 404 not_found "an unknown path"
r=$(call GET "/api/v1/devices/$(junk 5000 d)" -H "$AUTH")
expect_error "$r" 404 not_found "a path segment longer than any name"
r=$(call GET '/api/v1/devices/..%2f..%2fetc' -H "$AUTH")
expect_error "$r" 404 not_found "an encoded path traversal"
r=$(call GET /api/v1/login)
expect_error "$r" 405 method_not_allowed "GET on a POST endpoint"
r=$(call DELETE /api/v1/devices -H "$AUTH")
expect_error "$r" 405 method_not_allowed "DELETE on a known path"
r=$(call PUT /api/v1/nothing-here -H "$AUTH")
expect_error "$r" 404 not_found "PUT on an unknown path"
r=$(call BREW /api/v1/devices -H "$AUTH")
expect_status "$r" 501 "a method HTTP does not know"
r=$(call GET /api/v1/devices -H "Authorization: Bearer $(head -c 600 /dev/urandom | base64 -w0)")
expect_error "$r" 401 unauthorized "a garbage bearer token"
r=$(call GET /api/v1/devices -H "Authorization: Bearer")
expect_error "$r" 401 unauthorized "an empty bearer token"
r=$(call GET /api/v1/devices -H "Authorization: Basic YWxpY2U6eA==")
expect_error "$r" 401 unauthorized "basic instead of bearer authentication"
r=$(call POST /api/v1/ping -H "$JSON" --data '{"version": "0.1.0", "wait": false}')
expect_error "$r" 401 client_cert_required "a ping without a client certificate"
r=$(call POST /api/v1/ping -H "$JSON" --cert "$SRV/relays/relay-1/relay.crt" \
	--key "$SRV/relays/relay-1/relay.key" --data '{"version": "0.1.0", "wait": false}')
expect_error "$r" 403 wrong_role "a ping with a relay's certificate"
r=$(call POST /api/v1/ping -H "$JSON" --cert "$AGENT_DIR/state/device.crt" \
	--key "$AGENT_DIR/state/device.key" --data '{"version": 1, "wait": "soon", "services": 7}')
expect_error "$r" 400 bad_request "a ping with wrong types"
r=$(call POST /api/v1/relay/event -H "$JSON" --cert "$AGENT_DIR/state/device.crt" \
	--key "$AGENT_DIR/state/device.key" --data '{"session": "x", "event": "end"}')
expect_error "$r" 403 wrong_role "a relay event with a device's certificate"
grep -q 'GET /api/v1/nothing-here 404' "$WORK/server.log" ||
	fail "the server did not log the refused request"
pass "the server logs refused requests"
server_serves

# ---- server API: login and enrollment ---------------------------------------
r=$(call POST /api/v1/login -H "$JSON" --data '{"user": "alice", "password": 12345}')
expect_error "$r" 400 bad_request "a number as the password"
r=$(call POST /api/v1/login -H "$JSON" --data '{"user": "alice\nroot", "password": "x"}')
expect_error "$r" 400 bad_request "a newline in the user name"
{ printf '{"user": "%s", "password": "' "$SPEC_USER"; junk 102400 p; printf '"}'; } >"$WORK/bigpw.json"
r=$(call POST /api/v1/login -H "$JSON" --data-binary @"$WORK/bigpw.json")
expect_error "$r" 401 bad_credentials "a 100 KB password"
r=$(call POST /api/v1/login -H "$JSON" --data '{"user": "mallory", "password": "guess"}')
expect_error "$r" 401 bad_credentials "an unknown user"
audit=$(tether-server audit list --dir "$SRV")
[ "$(printf '%s\n' "$audit" | grep -c login_failed)" -ge 2 ] ||
	{ printf '%s\n' "$audit" >&2; fail "failed logins are not in the server audit"; }
expect_contains "$audit" "mallory" "the server audit names the unknown user who tried"

TOKEN2=$(enroll_token SN-0002)
r=$(call POST /api/v1/enroll -H "$JSON" --data '{"serial": "SN-0002", "token": "'"$TOKEN2"'",
	"csr": "-----BEGIN CERTIFICATE REQUEST-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE REQUEST-----\n",
	"ssh_hostkey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJunk"}')
expect_error "$r" 400 bad_csr "a garbage CSR"
head -c 6000 /dev/urandom | base64 -w0 >"$WORK/junk.b64"
r=$(call POST /api/v1/enroll -H "$JSON" --data '{"serial": "SN-0002", "token": "'"$TOKEN2"'",
	"csr": "'"$(cat "$WORK/junk.b64")"'", "ssh_hostkey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJunk"}')
expect_error "$r" 400 bad_csr "random bytes as the CSR"
r=$(call POST /api/v1/enroll -H "$JSON" --data '{"serial": "SN-0002", "token": "'"$TOKEN2"'",
	"csr": "x", "ssh_hostkey": "'"$(junk 9000 k)"'"}')
expect_error "$r" 400 bad_request "an over-long host key"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=SN-0002 \
	-keyout "$WORK/x.key" -out "$WORK/x.csr" 2>/dev/null || fail "openssl req"
csr=$(awk '{ printf "%s\\n", $0 }' "$WORK/x.csr")
r=$(call POST /api/v1/enroll -H "$JSON" --data '{"serial": "SN-0002", "token": "garbage-token",
	"csr": "'"$csr"'", "ssh_hostkey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJunk"}')
expect_error "$r" 401 bad_token "a garbage enrollment token"
expect_contains "$(tether-server audit list --dir "$SRV")" "enroll_failed" "the server audits the refused enrollment"
# the refused attempts did not spend the one-time token: a real agent enrolls with it
A2="$WORK/agent2"
mkdir -p "$A2"
printf 'server = https://127.0.0.1:%s\nserial = SN-0002\nstate_dir = %s/state\nconsent_socket = %s/consent.sock\nsupport_user = support\n' \
	"$SERVER_PORT" "$A2" "$A2" >"$A2/tether-agent.conf"
tether-agent enroll --config "$A2/tether-agent.conf" --token "$TOKEN2" --ca-fingerprint "$CA_FP" \
	--support-password-file "$WORK/support-pw" >"$WORK/enroll2.log" 2>&1 ||
	fail "the token was lost to a refused enrollment: $(cat "$WORK/enroll2.log")"
pass "the enrollment token survived the garbage CSRs"
server_serves

# ---- relay ------------------------------------------------------------------
# relay_raw PORT FILE [CERT KEY]: TLS to the relay, send FILE as is, print the answer line.
relay_raw() {
	certargs=""
	[ -n "${3:-}" ] && certargs="-cert $3 -cert_chain $3 -key $4"
	# shellcheck disable=SC2086
	{ cat "$2"; sleep 2; } | timeout 10 openssl s_client -quiet \
		-connect "127.0.0.1:$1" -CAfile "$SRV/ca/root.crt" -verify_return_error \
		-servername 127.0.0.1 $certargs 2>"$WORK/s_client.err" | head -1 || true
}
CPORT=$RELAY_1_CLIENT_PORT
DPORT=$RELAY_1_DEVICE_PORT

printf 'GET / HTTP/1.1\r\nHost: relay\r\n\r\n' | timeout 10 socat -t 3 - "TCP:127.0.0.1:$CPORT" >/dev/null 2>&1 || true
head -c 4096 /dev/urandom | timeout 10 socat -t 3 - "TCP:127.0.0.1:$DPORT" >/dev/null 2>&1 || true
wait_for 10 grep -q 'tls_handshake' "$RELAY_AUDIT" ||
	fail "the relay did not audit plain text sent to its TLS port"
pass "plain text before the TLS handshake is refused and audited"

junk 5000 P >"$WORK/longpre"
r=$(relay_raw "$CPORT" "$WORK/longpre")
expect_contains "$r" "ERR bad_preamble" "a preamble without newline longer than MAX_PREAMBLE_BYTES"
printf 'TETHER/1 client %s\n' "$(junk 5000 t)" >"$WORK/longline"
r=$(relay_raw "$CPORT" "$WORK/longline")
expect_contains "$r" "ERR bad_preamble" "an over-long preamble line"
r=$(relay_leg "$CPORT" "TETHER/1 client AAAA.BBBB")
expect_contains "$r" "ERR bad_ticket" "a preamble with a garbage ticket"
r=$(relay_leg "$CPORT" "TETHER/1 client eyJzZXNzaW9uIjoiYSJ9.$(junk 86 A)")
expect_contains "$r" "ERR bad_ticket" "a preamble with a forged ticket"
r=$(relay_leg "$CPORT" "TETHER/1 client ")
expect_contains "$r" "ERR bad_preamble" "a preamble without a ticket"
r=$(relay_leg "$CPORT" "HELLO relay")
expect_contains "$r" "ERR bad_preamble" "a preamble that is not TETHER/1"
r=$(relay_leg "$CPORT" "TETHER/1 admin AAAA.BBBB")
expect_contains "$r" "ERR bad_preamble" "an unknown leg"
printf 'TETHER/1 client AA\000AA.BB\n' >"$WORK/nulpre"
r=$(relay_raw "$CPORT" "$WORK/nulpre")
expect_contains "$r" "ERR bad_preamble" "a NUL byte in the preamble"
{ head -c 3000 /dev/urandom | tr -d '\n'; printf '\n'; } >"$WORK/binjunk"
r=$(relay_raw "$CPORT" "$WORK/binjunk")
expect_contains "$r" "ERR bad_preamble" "binary junk after the handshake"
r=$(relay_leg "$DPORT" "TETHER/1 device AAAA.BBBB" "$AGENT_DIR/state/device.crt" "$AGENT_DIR/state/device.key")
expect_contains "$r" "ERR bad_ticket" "a device with a garbage ticket"
alive tether-relay "$PID_relay_1"
ra=$(cat "$RELAY_AUDIT")
for code in bad_preamble bad_ticket tls_handshake; do
	expect_contains "$ra" "$code" "the relay audit records $code refusals"
done
grep -q 'refused client leg' "$WORK/relay-1.log" || fail "the relay did not log its refusals"
pass "the relay logs its refusals"
tether-relay audit verify --config "$RELAY_CONF" >/dev/null || fail "relay audit chain broken"
pass "relay audit chain verifies after the refusals"

# ---- agent consent socket ---------------------------------------------------
# consent_raw FILE: send FILE to the consent socket; print the answer.
consent_raw() {
	{ cat "$1"; sleep 1; } | timeout 10 socat -t 2 - "UNIX-CONNECT:$SOCK" 2>&1 || true
}
say() { printf "$@" >"$WORK/consent.in"; consent_raw "$WORK/consent.in"; }

expect_contains "$(say 'HELLO\n')" "ERR malformed" "a junk line on the consent socket"
expect_contains "$(say 'list\n')" "ERR malformed" "a lower-case command"
expect_contains "$(say 'REBOOT now\n')" "ERR malformed" "an unknown command"
expect_contains "$(say 'ACCEPT\n')" "ERR malformed" "ACCEPT without an id"
expect_contains "$(say 'ACCEPT 0123456789abcdef0123456789abcdef\n')" "ERR no pending session" \
	"ACCEPT of an unknown id"
expect_contains "$(say 'DENY ../../etc/passwd\n')" "ERR" "DENY of a path"
expect_contains "$(say 'END 0123456789abcdef0123456789abcdef\n')" "ERR" "END of an unknown id"
r=$(say 'LIST\nLIST\n')
[ "$(printf '%s\n' "$r" | grep -c '^END$')" = 1 ] || { printf '%s\n' "$r" >&2; fail "two requests in one write"; }
pass "two requests in one write: only the first is answered (one request per connection)"
expect_contains "$(say 'ACCEPT \001\002\000\377\n')" "ERR malformed" "control bytes and a NUL"
junk 2000 X >"$WORK/consent.long"
expect_contains "$(consent_raw "$WORK/consent.long")" "ERR request longer than" \
	"an over-long line without newline"
{ printf 'ACCEPT '; junk 1000 a; printf '\n'; } >"$WORK/consent.long2"
expect_contains "$(consent_raw "$WORK/consent.long2")" "ERR" "an over-long ACCEPT line"
head -c 2000 /dev/urandom >"$WORK/consent.bin"
expect_contains "$(consent_raw "$WORK/consent.bin")" "ERR" "binary junk"
alive tether-agent "$PID_agent"
expect_contains "$(agent_consent list)" "" "the operator's list still answers"
grep -q 'consent socket: malformed request' "$WORK/agent.log" ||
	fail "the agent did not log the malformed requests"
pass "the agent logs malformed consent requests"

# ---- and everything still works ---------------------------------------------
server_serves
LPORT=$(free_port)
start_forward "$LPORT"
page=$(fetch "$LPORT")
expect_contains "$page" "device $SERIAL status page: all systems nominal" \
	"a full forwarded session still fetches the device page"
kill "$PID_forward"
wait_for 20 sh -c "tether --json session status $SESSION | grep -q '\"state\": *\"ended\"'" ||
	fail "the session did not end"
pass "the session ended"
alive tether-server "$PID_server"
alive tether-relay "$PID_relay_1"
alive tether-agent "$PID_agent"

tether-server audit verify --dir "$SRV" >/dev/null || fail "server audit chain broken"
tether-relay audit verify --config "$RELAY_CONF" >/dev/null || fail "relay audit chain broken"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
	fail "device audit chain broken"
pass "all three audit chains verify"

# A clean stop: each daemon exits on SIGTERM, and under the sanitizers its log
# holds no memory error, leak or undefined behaviour from all of the above.
for d in agent:$PID_agent relay-1:$PID_relay_1 server:$PID_server; do
	name=${d%%:*}; pid=${d#*:}
	kill "$pid"
	wait_for 15 sh -c "! kill -0 $pid" || fail "$name did not stop on SIGTERM"
	if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/$name.log" >&2; then
		fail "$name reported a sanitizer error"
	fi
done
pass "every daemon stopped cleanly with no sanitizer report"

#!/bin/sh
# The signer (issue 7, section 3): started as root with `user = nobody`,
# tether-server runs as two processes, the signer under a seccomp filter. The signer alone has the ticket key,
# the TOTP sealing key and the audit checkpoint key in memory; the HTTP
# process holds none of them, has no descriptor on a key file and, as
# nobody, cannot open one. Enrollment, TOTP enrollment and login, and a full
# session all go through the signer; when the signer dies the server stops.
if [ "$(id -u)" != 0 ]; then
	echo "[t330-signer] skipped: needs root"
	exit 77
fi
. "$(dirname "$0")/lib.sh"

SVC_USER=nobody
SVC_UID=$(id -u "$SVC_USER") || fail "no user $SVC_USER on this host"
chmod 711 "$WORK"

deploy 1
kill "$PID_server"
wait_for 15 sh -c "! kill -0 $PID_server" || fail "the server did not stop"
set_server_conf user "$SVC_USER"
bg server-2 tether-server run --dir "$SRV"
PID_server=$PID_server_2
wait_port "$SERVER_PORT"

# ---- two processes, both dropped ------------------------------------------
wait_for 10 sh -c "pgrep -P $PID_server >/dev/null" || fail "no signer process under the server"
SIGNER=$(pgrep -P "$PID_server" | head -1)
[ "$SIGNER" != "$PID_server" ] || fail "the signer is the HTTP process"
for p in "$PID_server" "$SIGNER"; do
	uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$p/status")
	[ "$uids" = "$SVC_UID $SVC_UID $SVC_UID $SVC_UID" ] || fail "pid $p runs with Uid $uids"
	[ "$(stat -c %u "/proc/$p/status")" = 0 ] || fail "pid $p is dumpable"
done
pass "HTTP process $PID_server and signer $SIGNER both run as $SVC_USER, not dumpable"
[ "$(awk '/^Seccomp:/ { print $2 }' "/proc/$SIGNER/status")" = 2 ] ||
	fail "the signer runs without its seccomp filter"
pass "the signer runs under its seccomp filter"
expect_contains "$(cat "$WORK/server-2.log")" "signer process started (pid $SIGNER)" \
	"the server names its signer"

# ---- the key files: root's, 0600, unreadable by the server's uid ------------
KEYS="ticket/ticket.key ca/issuing.key mfa/totp.key audit/checkpoint.key"
for k in $KEYS; do
	[ "$(stat -c '%u %a' "$SRV/$k")" = "0 600" ] ||
		fail "$k is $(stat -c '%u %a' "$SRV/$k"), expected root 0600"
	if setpriv --reuid "$SVC_UID" --regid "$(id -g "$SVC_USER")" --clear-groups \
		cat "$SRV/$k" >/dev/null 2>&1; then
		fail "uid $SVC_UID can read $k"
	fi
	for p in "$PID_server" "$SIGNER"; do
		if ls -l "/proc/$p/fd" | grep -q -- "$SRV/$k"; then
			fail "pid $p holds a descriptor on $k"
		fi
	done
done
pass "every private key file is root 0600, unreadable as $SVC_USER, and no process keeps it open"

# ---- the keys in memory: only in the signer --------------------------------
# Ed25519 private keys are the last 32 bytes of their DER; the TOTP key is 32
# raw bytes. OpenSSL and libsodium keep both as these bytes.
ticket=$(openssl pkey -in "$SRV/ticket/ticket.key" -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
cpkey=$(openssl pkey -in "$SRV/audit/checkpoint.key" -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
totp=$(od -An -tx1 "$SRV/mfa/totp.key" | tr -d ' \n')
in_signer=$(python3 "$TETHER_SRC/tests/e2e/memscan.py" "$SIGNER" "$ticket" "$cpkey" "$totp" | wc -l)
[ "$in_signer" = 3 ] || fail "the scan found $in_signer of 3 keys in the signer (the scan itself is broken)"
pass "the memory scan finds all three keys in the signer"
in_http=$(python3 "$TETHER_SRC/tests/e2e/memscan.py" "$PID_server" "$ticket" "$cpkey" "$totp")
[ -z "$in_http" ] || fail "the HTTP process holds key bytes: $in_http"
pass "the HTTP process holds none of the ticket, checkpoint and TOTP keys"

# ---- everything that needs a key still works, through the signer ------------
start_device_service
agent_setup "$SERIAL"                       # enrollment: the signer issues the certificate
[ -s "$AGENT_DIR/state/checkpoint.pub" ] || fail "enrollment handed out no checkpoint key"
cmp -s "$AGENT_DIR/state/checkpoint.pub" "$SRV/audit/checkpoint.pub" ||
	fail "the device got another checkpoint key"
pass "enrollment works through the signer and hands out checkpoint.pub"
cli_login                                   # TOTP enrollment: the signer makes and seals the secret
cli_login                                   # TOTP login: the signer checks the code
pass "TOTP enrollment and a TOTP login work through the signer"
wait_online
LPORT=$(free_port)
start_forward "$LPORT"                      # tickets: the signer signs both legs
page=$(fetch "$LPORT")
expect_contains "$page" "all systems nominal" "a forwarded session works with signer-made tickets"
kill "$PID_forward"
wait_state "$SESSION" ended

# A wrong code is still refused (the signer's verdict, not a yes to anything).
rc=0
TETHER_PASSWORD="$SPEC_PW" TETHER_TOTP=000000 tether login --server "https://127.0.0.1:$SERVER_PORT" \
	--ca "$SRV/ca/root.crt" --user "$SPEC_USER" >"$WORK/badlogin.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a login with a wrong TOTP code was accepted"
expect_contains "$(cat "$WORK/badlogin.log")" "invalid one-time code" "a wrong TOTP code is refused"

# ---- fail closed ----------------------------------------------------------
kill -9 "$SIGNER"
wait_for 15 sh -c "! kill -0 $PID_server" || fail "the server kept running without its signer"
expect_contains "$(cat "$WORK/server-2.log")" "fail closed" "the server stops when the signer dies, and says why"
if grep -E 'Sanitizer|runtime error:' "$WORK/server-2.log" >&2; then
	fail "the server reported a sanitizer error"
fi
pass "no sanitizer report"

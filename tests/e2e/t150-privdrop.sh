#!/bin/sh
# Least privilege: started as root with `user = nobody`, the server, the
# relays and the agent's network part (and its session worker) run as nobody
# with no way back (NoNewPrivs, not dumpable, no core files), the agent's
# monitor stays root and holds nothing, and a full forwarded session still
# works with every audit trail intact.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (it starts the daemons as root to drop to nobody)"

SVC_USER=nobody
SVC_UID=$(id -u "$SVC_USER") || skip "no user $SVC_USER on this host"
SVC_GID=$(id -g "$SVC_USER")
# mktemp made $WORK 0700; a service user must be able to pass through it, as
# through /var/lib or /etc on a real host.
chmod 711 "$WORK"

# set_user CONF: `user = nobody` in a daemon's config.
set_user() {
	if grep -q '^#* *user *=' "$1"; then
		sed -i "s/^#* *user *=.*/user = $SVC_USER/" "$1"
	else
		printf 'user = %s\n' "$SVC_USER" >>"$1"
	fi
	grep -q "^user = $SVC_USER\$" "$1" || fail "could not set user in $1"
}

# stop NAME PID: SIGTERM and wait, bounded.
stop() {
	kill "$2" 2>/dev/null || true
	wait_for 15 sh -c "! kill -0 $2" || fail "$1 did not stop"
}

# check_dropped NAME PID: uid and gid are nobody's, all four fields; no new
# privileges; not dumpable; no core files.
check_dropped() {
	st=/proc/$2/status
	[ -r "$st" ] || fail "$1 (pid $2) is not running"
	uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")
	gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")
	[ "$uids" = "$SVC_UID $SVC_UID $SVC_UID $SVC_UID" ] ||
		fail "$1 runs with Uid $uids, expected $SVC_UID in all four fields"
	[ "$gids" = "$SVC_GID $SVC_GID $SVC_GID $SVC_GID" ] ||
		fail "$1 runs with Gid $gids, expected $SVC_GID in all four fields"
	pass "$1 runs as $SVC_USER: Uid $uids, Gid $gids"
	groups=$(awk '/^Groups:/ { $1 = ""; print }' "$st" | tr -s ' ' | sed 's/^ //; s/ $//')
	[ -z "$groups" ] || [ "$groups" = "$SVC_GID" ] ||
		fail "$1 kept supplementary groups: $groups"
	pass "$1 kept no supplementary group of root's"
	[ "$(awk '/^NoNewPrivs:/ { print $2 }' "$st")" = 1 ] || fail "$1: NoNewPrivs is not 1"
	pass "$1 has NoNewPrivs 1"
	capeff=$(awk '/^CapEff:/ { print $2 }' "$st")
	[ "$capeff" = 0000000000000000 ] || fail "$1 kept capabilities: CapEff $capeff"
	pass "$1 has no effective capabilities"
	# The kernel gives a process's /proc files to root, not to its own uid,
	# exactly when the process is not dumpable.
	[ "$(stat -c %u "/proc/$2/status")" = 0 ] ||
		fail "$1 is dumpable (its /proc entries belong to uid $(stat -c %u "/proc/$2/status"))"
	pass "$1 is not dumpable"
	core=$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$2/limits")
	[ "$core" = "0 0" ] || fail "$1 may write core files (limit $core)"
	pass "$1 writes no core files"
}

# ---- the deployment, as the operator makes it -------------------------------
# init and the admin commands run as root; the daemons start as root, read
# their keys, bind their ports, open the database and audit logs, then drop.
deploy 2
start_device_service
agent_setup "$SERIAL"
cli_login
wait_online
stop agent "$PID_agent"
stop relay-2 "$PID_relay_2"
stop relay-1 "$PID_relay_1"
stop server "$PID_server"

set_user "$SRV/tether-server.conf"
for r in $RELAYS; do set_user "$SRV/relays/$r/tether-relay.conf"; done
set_user "$AGENT_DIR/tether-agent.conf"
# What the agent writes after the drop (audit log, SSH lockout counter) and
# what its session workers read lives in its state_dir, which must belong to
# the service user; the agent says so instead of failing at the first session.
out=$(timeout 20 tether-agent run --config "$AGENT_DIR/tether-agent.conf" 2>&1) &&
	fail "the agent started with a state_dir it cannot write after the drop"
expect_contains "$out" "chown -R $SVC_USER" "the agent names the fix for a root-owned state_dir"
chown -R "$SVC_USER:" "$AGENT_DIR/state"

start_daemons
bg agent tether-agent run --config "$AGENT_DIR/tether-agent.conf"
wait_online
wait_for 10 test -S "$AGENT_DIR/consent.sock" || fail "no consent socket"

check_dropped tether-server "$PID_server"
check_dropped relay-1 "$PID_relay_1"
check_dropped relay-2 "$PID_relay_2"
# The agent's monitor stays root (it starts the support user's programs);
# its one child, the network part, is the one that dropped.
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$PID_agent/status")" = 0 ] ||
	fail "the agent's monitor is not root"
[ "$(stat -c %u "/proc/$PID_agent/status")" = 0 ] && pass "the agent's monitor stays root"
wait_for 10 sh -c "pgrep -P $PID_agent -x tether-net >/dev/null" || fail "no network part"
NET=$(pgrep -P "$PID_agent" -x tether-net)
check_dropped "the agent's network part" "$NET"

# The consent socket belongs to root, mode 0600 without consent_group: root
# may use it, and the network part accepts on the descriptor it inherited.
sock_owner=$(stat -c '%u %a' "$AGENT_DIR/consent.sock")
[ "$sock_owner" = "0 600" ] || fail "consent socket is '$sock_owner', expected '0 600'"
pass "the consent socket belongs to root, mode 0600"

# ---- a full forwarded session, and its worker -------------------------------
LPORT=$(free_port)
start_forward "$LPORT"
page=$(fetch "$LPORT")
expect_contains "$page" "device $SERIAL status page: all systems nominal" \
	"a full forwarded session works with every daemon as $SVC_USER"
worker=$(pgrep -P "$NET" | head -1 || true)
[ -n "$worker" ] || fail "no session worker under the agent's network part"
check_dropped "the session worker" "$worker"
kill "$PID_forward"
wait_for 20 sh -c "tether --json session status $SESSION | grep -q '\"state\": *\"ended\"'" ||
	fail "the session did not end"
pass "the session ended"

# ---- the software repository, signed and served after the drop -------------
# The dropped server reaches DIR/repo through the folders it opened as root
# (DIR stays closed to it) and writes snapshot and timestamp there.
[ "$(stat -c %U "$SRV/repo/metadata")" = "$SVC_USER" ] || fail "DIR/repo/metadata is not $SVC_USER's"
[ "$(stat -c '%U %a' "$SRV/repo/keys")" = "root 700" ] || fail "DIR/repo/keys is not root's alone"
mkdir -p "$WORK/rm"
tether repo keygen "$WORK/rm/root" >/dev/null 2>&1 && tether repo keygen "$WORK/rm/targets" >/dev/null 2>&1 ||
	fail "repo keygen"
tether repo init "$WORK/rm/R" --root-key "$WORK/rm/root.pub" --targets-key "$WORK/rm/targets.pub" \
	--snapshot-key "$SRV/repo/keys/snapshot.pub" --timestamp-key "$SRV/repo/keys/timestamp.pub" 2>/dev/null ||
	fail "repo init"
tether repo sign "$WORK/rm/R" root --key "$WORK/rm/root" && tether repo sign "$WORK/rm/R" targets --key "$WORK/rm/targets" ||
	fail "repo sign"
tether-server repo publish "$WORK/rm/R" --dir "$SRV" >"$WORK/pub.out" 2>&1 || fail "repo publish: $(cat "$WORK/pub.out")"
wait_for 20 test -s "$SRV/repo/metadata/timestamp.json" ||
	fail "the server as $SVC_USER signed no timestamp: $(grep repository "$WORK/server-2.log" "$WORK/server.log" 2>/dev/null | tail -3)"
[ "$(stat -c %U "$SRV/repo/metadata/timestamp.json")" = "$SVC_USER" ] || fail "the timestamp was not written by $SVC_USER"
ts=$(curl -sS --cacert "$SRV/ca/root.crt" "https://127.0.0.1:$SERVER_PORT/repo/metadata/timestamp.json")
expect_contains "$ts" '"_type":"timestamp"' "the server as $SVC_USER signs and serves the repository's timestamp"

# ---- audit trails, written after the drop, still verify ---------------------
out=$(tether-server audit list --dir "$SRV")
for what in session_active session_ended; do
	expect_contains "$out" "$what" "the server (as $SVC_USER) audited $what"
done
tether-server audit verify --dir "$SRV" >/dev/null || fail "server audit chain broken"
for r in $RELAYS; do
	tether-relay audit verify --config "$SRV/relays/$r/tether-relay.conf" >/dev/null ||
		fail "relay $r audit chain broken"
done
expect_contains "$(cat "$AGENT_DIR/state/audit.log")" "$SESSION" \
	"the agent (as $SVC_USER) audited the session"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
	fail "device audit chain broken"
pass "all audit chains verify"

for d in agent:$PID_agent relay-1:$PID_relay_1 relay-2:$PID_relay_2 server:$PID_server; do
	name=${d%%:*}; pid=${d#*:}
	stop "$name" "$pid"
	if grep -E 'Sanitizer|runtime error:' "$WORK/$name.log" >&2; then
		fail "$name reported a sanitizer error"
	fi
	if grep -E 'audit: (cannot|could not) record|Permission denied' "$WORK/$name.log" >&2; then
		fail "$name could not write something after dropping privileges"
	fi
done
pass "every daemon stopped cleanly, wrote all it had to, no sanitizer report"

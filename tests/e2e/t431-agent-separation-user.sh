#!/bin/sh
# Started by an ordinary user (here nobody), the agent has no uid to switch
# to: each shell and diagnostic runs in new user, mount and PID namespaces
# in which state_dir, the consent socket's folder and recordings_dir are
# covered by empty read-only tmpfs and /proc is the namespace's own. The
# t430 attack (keys, support hash, audit log, consent socket, signals,
# ptrace) fails from a shell and from a diagnostic, though both run as the
# agent's own uid; the agent keeps running and its audit chain verifies.
if [ "$(id -u)" != 0 ]; then
	echo "[t431-agent-separation-user] skipped: needs root to become nobody"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3    # a shell is a level 3 permission (policy.conf)
if ! setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
	unshare -U -m -p -f -r --mount-proc true 2>/dev/null; then
	echo "[t431-agent-separation-user] skipped: no user namespaces for nobody here"
	exit 77
fi

cp "$TETHER_SRC/tests/e2e/helpers/attack-agent.sh" "$WORK/attack.sh"
chmod 755 "$WORK/attack.sh"
echo "control file" >"$WORK/control.txt"
chmod 644 "$WORK/control.txt"
AGENT_EXTRA_CONF="diag.attack = /bin/sh $WORK/attack.sh $WORK/targets"
full_stack 1
setup_askpass "$SUPPORT_PW"
CONF="$AGENT_DIR/tether-agent.conf"
STATE="$AGENT_DIR/state"

# The agent again, started by nobody, owning its folder.
kill "$PID_agent"
wait_for 20 sh -c "! kill -0 $PID_agent" || fail "the agent did not stop"
sed -i '/^user = /d' "$CONF"
chown -R nobody: "$AGENT_DIR"
bg agent setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
	tether-agent run --config "$CONF"
wait_online 30
wait_for 10 sh -c "pgrep -P $PID_agent -x tether-net >/dev/null" || fail "no network part"
MON=$(pgrep -P "$PID_agent" -x tether-agent || echo "$PID_agent")
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$MON/status")" = "$(id -u nobody)" ] ||
	fail "the agent does not run as nobody"
NET=$(pgrep -P "$MON" -x tether-net)
pass "the agent runs as nobody (monitor $MON, network part $NET)"
records_before=$(wc -l <"$STATE/audit.log")

sid=$(request_actions "TCK-431 shell" shell)
consent_session "$sid"
ssh_master "$sid"
attack_targets "$MON" "$NET" "$(pgrep -P "$NET" | head -1)"
out=$(timeout 200 ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" device "sh $WORK/attack.sh $WORK/targets" 2>&1 || true)
attack_check "$out" shell "$MON" "$NET"
expect_contains "$out" "agent processes seen: none" "the shell sees no agent process"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

attack_targets "$MON" "$NET"
tether diag "$SERIAL" attack --reason "TCK-431 diag" >"$WORK/diag.out" 2>"$WORK/diag.err" &
dpid=$!
sid=$(pending_session_id)
agent_consent accept "$sid" >/dev/null || fail "accept"
wait "$dpid" || true
attack_check "$(cat "$WORK/diag.out")" diagnostic "$MON" "$NET"
expect_contains "$(cat "$WORK/diag.out")" "agent processes seen: none" "the diagnostic sees no agent process"

#!/bin/sh
# Started as root, the agent is a root monitor, a network part as `user` and,
# per shell or diagnostic, a keeper and a child that runs as support_user.
# From a granted shell and from a diagnostic, the specialist cannot read the
# device key, the SSH host key or the support hash, cannot write or truncate
# the audit log, cannot reach the consent socket (even made world-writable:
# the peer check refuses the support user's uid and audits it), cannot
# signal or ptrace any agent process. The agent keeps running and its audit
# chain verifies. `run` refuses a support_user that is missing, root, the
# agent's own user or in consent_group, and a state_dir that others may read.
if [ "$(id -u)" != 0 ]; then
	echo "[t430-agent-separation-root] skipped: needs root"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3    # a shell is a level 3 permission (policy.conf)

# Accounts of this test only, removed at the end.
T_USER=t430sup
T_GROUP=t430grp
userdel "$T_USER" >/dev/null 2>&1 || true
groupdel "$T_GROUP" >/dev/null 2>&1 || true
groupadd "$T_GROUP" || fail "groupadd"
useradd --no-create-home --shell /bin/sh -G "$T_GROUP" "$T_USER" || fail "useradd"

cp "$TETHER_SRC/tests/e2e/helpers/attack-agent.sh" "$WORK/attack.sh"
chmod 755 "$WORK/attack.sh"
echo "control file" >"$WORK/control.txt"
chmod 644 "$WORK/control.txt"
AGENT_EXTRA_CONF="diag.attack = /bin/sh $WORK/attack.sh $WORK/targets"
full_stack 1
setup_askpass "$SUPPORT_PW"
CONF="$AGENT_DIR/tether-agent.conf"
STATE="$AGENT_DIR/state"

# ---- what `run` refuses --------------------------------------------------------
kill "$PID_agent"
wait_for 20 sh -c "! kill -0 $PID_agent" || fail "the agent did not stop"
cp "$CONF" "$WORK/conf.orig"
# refused RUN WHAT NEEDLE: `run` exits at once and says NEEDLE.
refused() {
	rc=0
	out=$(timeout 20 tether-agent run --config "$CONF" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "run started with $1 (rc $rc)"
	expect_contains "$out" "$2" "run refuses $1"
	cp "$WORK/conf.orig" "$CONF"
}
sed -i 's/^support_user = .*/support_user = t430-nobody-here/' "$CONF"
refused "a missing support_user" "no such account"
sed -i 's/^support_user = .*/support_user = root/' "$CONF"
refused "support_user root" "is root"
sed -i "s/^support_user = .*/support_user = $E2E_AGENT_USER/" "$CONF"
refused "support_user = user" "is the agent's own user"
sed -i "s/^support_user = .*/support_user = $T_USER/" "$CONF"
printf 'consent_group = %s\n' "$T_GROUP" >>"$CONF"
refused "a support_user in consent_group" "is in consent_group"
chmod 750 "$STATE"
refused "a state_dir others may read" "chmod 700 $STATE"
chmod 700 "$STATE"
chmod 640 "$STATE/device.key"
refused "a device key others may read" "chmod 600 $STATE/device.key"
chmod 600 "$STATE/device.key"
bg agent tether-agent run --config "$CONF"
wait_online 30
wait_for 10 sh -c "pgrep -P $PID_agent -x tether-net >/dev/null" || fail "no network part"
NET=$(pgrep -P "$PID_agent" -x tether-net)
records_before=$(wc -l <"$STATE/audit.log")

# ---- from a granted shell --------------------------------------------------------
sid=$(request_actions "TCK-430 shell" shell)
consent_session "$sid"
ssh_master "$sid"
WORKER=$(pgrep -P "$NET" | head -1)
attack_targets "$PID_agent" "$NET" "$WORKER"
who=$(device_ssh device 'id -un; id -u' 2>&1 || true)
expect_contains "$who" "support" "the shell runs as the support user"
[ "$(stat -c %U "$STATE")" = "$E2E_AGENT_USER" ] || fail "state_dir is not the agent user's"
out=$(timeout 200 ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" device "sh $WORK/attack.sh $WORK/targets" 2>&1 || true)
attack_check "$out" shell "$PID_agent" "$NET"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

# ---- from a diagnostic, with the consent socket opened to everyone -------------
# A misconfigured mode must not let the support user in: the peer check
# refuses its uid and audits consent_peer_refused.
chmod 666 "$AGENT_DIR/consent.sock"
attack_targets "$PID_agent" "$NET"
rc=0
tether diag "$SERIAL" attack --reason "TCK-430 diag" >"$WORK/diag.out" 2>"$WORK/diag.err" &
dpid=$!
sid=$(pending_session_id)
agent_consent accept "$sid" >/dev/null || fail "accept"
wait "$dpid" || rc=$?
attack_check "$(cat "$WORK/diag.out")" diagnostic "$PID_agent" "$NET"
sup_uid=$(id -u support)
agent_audit_detail consent_peer_refused | grep -q "uid $sup_uid " ||
	fail "no consent_peer_refused for uid $sup_uid: $(agent_audit_detail consent_peer_refused)"
pass "the support user's connection to the consent socket was refused and audited"
grep -q "consent socket: refused uid $sup_uid" "$WORK/agent.log" || fail "the refusal was not logged"
pass "and logged"

userdel "$T_USER" || fail "userdel"
groupdel "$T_GROUP" 2>/dev/null || true

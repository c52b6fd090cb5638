#!/bin/sh
# Started as root, the agent starts each SFTP server as support_user, like a
# shell. Even with a files.* area misconfigured to be the agent's own
# state_dir, a session granted files:write cannot read the device key, the
# SSH host key or the support hash, nor overwrite, truncate or remove the
# audit log: the kernel refuses the support user, whatever SFTP's own
# checks allow. The agent keeps running and its audit chain verifies.
if [ "$(id -u)" != 0 ]; then
	echo "[t434-agent-separation-sftp] skipped: needs root"
	exit 77
fi
. "$(dirname "$0")/lib.sh"

AGENT_EXTRA_CONF="files.state = $AGENT_DIR/state"
full_stack 1
setup_askpass "$SUPPORT_PW"
CONF="$AGENT_DIR/tether-agent.conf"
STATE="$AGENT_DIR/state"
mkdir -p "$WORK/local"
echo "forged" >"$WORK/local/forged"
records_before=$(wc -l <"$STATE/audit.log")

sid=$(request_actions "TCK-434 sftp" files:read files:write)
consent_session "$sid"
ssh_master "$sid"

for f in device.key ssh_hostkey support.hash; do
	rm -f "$WORK/local/$f"
	if device_sftp "get-$f" "get $STATE/$f $WORK/local/$f" || [ -s "$WORK/local/$f" ]; then
		fail "SFTP served $f: $(cat "$WORK/sftp-get-$f.out")"
	fi
	pass "SFTP cannot read $f"
done
if device_sftp put "put $WORK/local/forged $STATE/audit.log"; then
	fail "SFTP overwrote audit.log"
fi
pass "SFTP cannot overwrite or truncate audit.log"
if device_sftp rm "rm $STATE/audit.log"; then
	fail "SFTP removed audit.log"
fi
[ -f "$STATE/audit.log" ] || fail "audit.log is gone"
pass "SFTP cannot remove audit.log"
if device_sftp rename "rename $STATE/audit.log $STATE/audit.old"; then
	fail "SFTP renamed audit.log"
fi
pass "SFTP cannot rename audit.log"

# The specialist is told, and the state folder cannot even be listed.
grep -Eq 'not found|ermission denied' "$WORK/sftp-get-device.key.out" ||
	fail "no refusal shown: $(cat "$WORK/sftp-get-device.key.out")"
if device_sftp ls "ls $STATE"; then
	fail "SFTP listed the state folder: $(cat "$WORK/sftp-ls.out")"
fi
pass "the specialist sees the refusals; the state folder cannot be listed"

kill -0 "$PID_agent" || fail "the agent died"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null
tether-agent audit verify --config "$CONF" >/dev/null || fail "device audit chain broken"
[ "$(wc -l <"$STATE/audit.log")" -ge "$records_before" ] || fail "audit.log shrank"
pass "the agent still runs and its audit chain verifies"

#!/bin/sh
# A hard link under an allowed name to a refused file is refused: over SFTP
# (get, stat and the listing) and in a shell (the link is covered too).
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3

D="$WORK/device"
mkdir -p "$D/data/patients" "$D/logs"
echo "patient record 4711" >"$D/data/patients/p1.txt"
ln "$D/data/patients/p1.txt" "$D/logs/harmless.log"
echo "pump log" >"$D/logs/pump.log"
AGENT_EXTRA_CONF="files.data = $D/data
files.logs = $D/logs
patient_data.records = $D/data/patients"
full_stack 1
setup_askpass "$SUPPORT_PW"

sid=$(request_actions "TCK-434 hard link" shell files:read)
consent_session "$sid"
ssh_master "$sid"
if device_sftp link "get $D/logs/harmless.log $WORK/h" || [ -s "$WORK/h" ]; then
	fail "SFTP served the hard link to the record"
fi
expect_contains "$(agent_audit_detail file_refused | grep '"hard link to patient data"')" \
	"$D/logs/harmless.log" "the SFTP refusal is audited as a hard link"
device_sftp ls "ls -1 $D/logs" || fail "ls failed"
expect_contains "$(cat "$WORK/sftp-ls.out")" "pump.log" "the listing shows the plain log"
expect_not_contains "$(cat "$WORK/sftp-ls.out")" "harmless.log" "the listing hides the link"
out=$(device_ssh device "cat $D/logs/pump.log; cat $D/logs/harmless.log; echo probe-done" 2>&1 || true)
expect_shell_covered "$out" "patient record 4711" "the shell does not print the linked record"
case "$out" in *probe-done*) expect_contains "$out" "pump log" "the shell reads the plain log" ;; esac
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

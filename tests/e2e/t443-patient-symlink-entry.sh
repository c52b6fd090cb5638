#!/bin/sh
# A patient_data entry written through a symbolic link is resolved to its
# real path: the records are refused over SFTP and covered in a shell when
# reached by their real path.
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3

D="$WORK/device"
mkdir -p "$D/data/patients"
echo "patient record 4711" >"$D/data/patients/p1.txt"
ln -s "$D" "$WORK/devlink"
AGENT_EXTRA_CONF="files.data = $D/data
patient_data.records = $WORK/devlink/data/patients"
full_stack 1
setup_askpass "$SUPPORT_PW"

sid=$(request_actions "TCK-433 symlinked entry" shell files:read)
consent_session "$sid"
ssh_master "$sid"
if device_sftp real "get $D/data/patients/p1.txt $WORK/p1" || [ -s "$WORK/p1" ]; then
	fail "SFTP served the record by its real path"
fi
expect_contains "$(agent_audit_detail file_refused | grep '"patient data"')" "$D/data/patients" \
	"the SFTP refusal is audited under the real path"
out=$(device_ssh device "cat $D/data/patients/p1.txt; echo probe-done" 2>&1 || true)
expect_shell_covered "$out" "patient record 4711" "the shell does not print the record"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

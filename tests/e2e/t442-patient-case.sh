#!/bin/sh
# Case-insensitive patient data: with patient_data_case = insensitive,
# patient_data.images = .../STAR.dcm also refuses X.DCM, over SFTP and in a
# shell.
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3

D="$WORK/device"
mkdir -p "$D/data/sub"
echo "DICM upper-case image 4711" >"$D/data/sub/SCAN.DCM"
AGENT_EXTRA_CONF="files.data = $D/data
patient_data_case = insensitive
patient_data.images = $D/data/*.dcm"
full_stack 1
setup_askpass "$SUPPORT_PW"

sid=$(request_actions "TCK-432 case" shell files:read)
consent_session "$sid"
ssh_master "$sid"
if device_sftp upper "get $D/data/sub/SCAN.DCM $WORK/scan" || [ -s "$WORK/scan" ]; then
	fail "SFTP served SCAN.DCM"
fi
expect_contains "$(agent_audit_detail file_refused)" "SCAN.DCM" "the SFTP refusal is audited"
device_sftp ls "ls -1 $D/data/sub" || fail "ls failed"
expect_not_contains "$(cat "$WORK/sftp-ls.out")" "SCAN.DCM" "the listing hides it"
out=$(device_ssh device "cat $D/data/sub/SCAN.DCM; echo probe-done" 2>&1 || true)
expect_shell_covered "$out" "DICM upper-case image 4711" "the shell does not print SCAN.DCM"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

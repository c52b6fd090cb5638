#!/bin/sh
# One depth rule for SFTP and the shell: with patient_data.images =
# .../data/*.dcm, a .dcm file in a subfolder is refused over SFTP and
# covered in a shell (cat through `tether ssh` does not print it), while an
# ordinary file beside it stays readable in both.
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3    # a shell is a level 3 permission (policy.conf)

D="$WORK/device"
mkdir -p "$D/data/sub/deeper"
echo "DICM deep image 4711" >"$D/data/sub/deeper/deep.dcm"
echo "calibration ok" >"$D/data/sub/calib.txt"
AGENT_EXTRA_CONF="files.data = $D/data
patient_data.images = $D/data/*.dcm"
full_stack 1
setup_askpass "$SUPPORT_PW"

sid=$(request_actions "TCK-431 depth" shell files:read)
consent_session "$sid"
ssh_master "$sid"

if device_sftp deep "get $D/data/sub/deeper/deep.dcm $WORK/deep.dcm" || [ -s "$WORK/deep.dcm" ]; then
	fail "SFTP served the deep .dcm"
fi
expect_contains "$(agent_audit_detail file_refused)" "deeper/deep.dcm" "the SFTP refusal is audited"
device_sftp calib "get $D/data/sub/calib.txt $WORK/calib.txt" || fail "SFTP refused calib.txt"
pass "SFTP: the deep .dcm is refused, its neighbour served"

out=$(device_ssh device "cat $D/data/sub/calib.txt; cat $D/data/sub/deeper/deep.dcm; echo probe-done" 2>&1 || true)
expect_shell_covered "$out" "DICM deep image 4711" "the shell does not print the deep .dcm"
case "$out" in *probe-done*) expect_contains "$out" "calibration ok" "the shell reads its neighbour" ;; esac
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

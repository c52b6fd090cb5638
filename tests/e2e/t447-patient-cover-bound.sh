#!/bin/sh
# The shell's cover fails closed at its bounds: when the tree under a
# patient_data pattern is deeper than PDMATCH_MAX_DEPTH (32) levels, the
# walk cannot vouch for what lies below, so the shell is refused and the
# client is told why, rather than run with something left uncovered.
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3

D="$WORK/device"
p="$D/data"
i=0
while [ $i -le 33 ]; do p="$p/d"; i=$((i + 1)); done
mkdir -p "$p"
echo "DICM image 4711" >"$p/deep.dcm"
AGENT_EXTRA_CONF="patient_data.images = $D/data/*.dcm"
full_stack 1
setup_askpass "$SUPPORT_PW"
sid=$(request_actions "TCK-437 bound" shell)
consent_session "$sid"
ssh_master "$sid"
out=$(device_ssh device "cat $p/deep.dcm; echo probe-done" 2>&1 || true)
expect_not_contains "$out" "probe-done" "no shell ran"
expect_not_contains "$out" "DICM image 4711" "the image was not printed"
expect_contains "$out" "levels deep" "the client is told which bound was hit"
expect_contains "$(agent_audit_detail shell_refused | grep "$sid")" \
	"patient data cannot be hidden from a shell on this device" "shell_refused audited"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

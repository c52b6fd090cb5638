#!/bin/sh
# The shipped systemd unit and the patient-data cover agree: under
# dist/tether-agent.service's RestrictNamespaces=, NoNewPrivileges= and
# CapabilityBoundingSet= (applied by tests/harness/unitexec, as systemd
# would), a shell on a device with patient_data starts, as the support user,
# with the refused data covered. Under RestrictNamespaces=yes (the unit
# before this fix) the same shell is refused, with the reason on the
# client's terminal and shell_refused in the audit: fail closed.
if [ "$(id -u)" != 0 ]; then
	echo "[t432-agent-unit] skipped: the unit runs the agent as root"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3    # a shell is a level 3 permission (policy.conf)
UNIT="$TETHER_SRC/dist/tether-agent.service"

D="$WORK/device"
mkdir -p "$D/data/patients"
echo "patient record 4711" >"$D/data/patients/p1.txt"
echo "calibration ok" >"$D/data/calib.txt"
chmod -R a+rX "$D"
AGENT_EXTRA_CONF="patient_data.records = $D/data/patients"
AGENT_WRAPPER="unitexec $UNIT --"
full_stack 1
setup_askpass "$SUPPORT_PW"
grep -q "RestrictNamespaces=mnt pid" "$WORK/agent.log" ||
	fail "the agent did not run under the unit's directives: $(head -3 "$WORK/agent.log")"
pass "the agent runs under the unit's RestrictNamespaces=, NoNewPrivileges= and CapabilityBoundingSet="
[ "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$PID_agent/status")" = 1 ] || fail "NoNewPrivs is not set"
[ "$(awk '/^Seccomp:/ { print $2 }' "/proc/$PID_agent/status")" = 2 ] || fail "no seccomp filter"
pass "the monitor has NoNewPrivs and a seccomp filter"

PROBE="id -un; cat $D/data/calib.txt; cat $D/data/patients/p1.txt; umount $D/data/patients 2>&1; \
cat $D/data/patients/p1.txt; echo probe-done"
sid=$(request_actions "TCK-432 shell" shell)
consent_session "$sid"
ssh_master "$sid"
out=$(device_ssh device "$PROBE" 2>&1 || true)
expect_contains "$out" "probe-done" "the shell ran under the unit"
expect_contains "$out" "support" "as the support user"
expect_contains "$out" "calibration ok" "other files are readable"
expect_not_contains "$out" "patient record 4711" "the refused folder is covered, also after umount"
expect_contains "$(agent_audit_detail shell_start | grep "$sid")" '"patient_data_hidden":true' \
	"shell_start says the data was hidden"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

# The unit as it was: RestrictNamespaces=yes. The shell must be refused.
kill "$PID_agent"
wait_for 20 sh -c "! kill -0 $PID_agent" || fail "the agent did not stop"
bg agent unitexec "$UNIT" --set RestrictNamespaces=yes -- \
	tether-agent run --config "$AGENT_DIR/tether-agent.conf"
wait_online 30
sid=$(request_actions "TCK-432 strict" shell)
consent_session "$sid"
rm -f "$WORK/ctl"
ssh_master "$sid"
out=$(device_ssh device "$PROBE" 2>&1 || true)
expect_not_contains "$out" "probe-done" "no shell ran under RestrictNamespaces=yes"
expect_not_contains "$out" "patient record 4711" "nothing was shown uncovered"
expect_contains "$out" "patient data cannot be hidden from a shell on this device" "the client is told why"
expect_contains "$(agent_audit_detail shell_refused | grep "$sid")" \
	'"reason":"patient data cannot be hidden from a shell on this device"' "shell_refused audited"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device audit chain broken"

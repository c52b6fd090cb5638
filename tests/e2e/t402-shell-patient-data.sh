#!/bin/sh
# Patient data in a shell: with a refusal list on the device and no
# patient_records in the ticket, the shell runs in its own namespaces with
# every refused folder and file covered, so a shell read cannot reach them
# (nor can unmounting the cover or /proc/PID/root). Where this machine cannot
# build those namespaces the shell is refused instead, with a clear message
# and shell_refused in the audit: the test checks whichever branch applies.
# With patient_records granted, the files are readable.
. "$(dirname "$0")/lib.sh"
SPEC_LEVEL=3    # a shell is a level 3 permission (policy.conf)

D="$WORK/device"
mkdir -p "$D/data/patients"
echo "patient record 4711" >"$D/data/patients/p1.txt"
echo "DICM image 4711" >"$D/data/scan.dcm"
echo "calibration ok" >"$D/data/calib.txt"
AGENT_EXTRA_CONF="patient_data.records = $D/data/patients
patient_data.images = $D/data/*.dcm"
full_stack 1
setup_askpass "$SUPPORT_PW"
PROBE="cat $D/data/calib.txt; cat $D/data/patients/p1.txt; cat $D/data/scan.dcm; \
echo \"listing=[\$(ls -A $D/data/patients)]\"; umount $D/data/patients 2>/dev/null; cat $D/data/patients/p1.txt; \
for p in /proc/[0-9]*; do cat \$p/root$D/data/patients/p1.txt 2>/dev/null; done; echo probe-done"

sid=$(request_actions "TCK-402 shell" shell)
consent_session "$sid"
ssh_master "$sid"
out=$(device_ssh device "$PROBE" 2>&1 || true)
if unshare -U -m -p -f -r --mount-proc true 2>/dev/null; then
	log "this machine has user namespaces: the shell must run with the data covered"
	expect_contains "$out" "probe-done" "the shell ran"
	expect_contains "$out" "calibration ok" "other files are readable"
	expect_not_contains "$out" "patient record 4711" "the refused folder is covered (also after umount, via /proc)"
	expect_not_contains "$out" "DICM image 4711" "the refused file is covered"
	expect_contains "$out" "listing=[]" "the refused folder lists empty"
	expect_contains "$(agent_audit_detail shell_start | grep "$sid")" '"patient_data_hidden":true' "shell_start says the data was hidden"
else
	log "no user namespaces here: the shell must be refused"
	expect_not_contains "$out" "probe-done" "no shell ran"
	expect_contains "$out" "patient data cannot be hidden from a shell on this device" "the client is told why"
	expect_contains "$(agent_audit_detail shell_refused | grep "$sid")" \
		'"reason":"patient data cannot be hidden from a shell on this device"' "shell_refused audited"
fi
[ "$(cat "$D/data/patients/p1.txt")" = "patient record 4711" ] || fail "the device's own view changed"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

# With patient_records (permission and the customer's approval, decided at
# the server) the refusal list is lifted. The permission is in no role by
# default: this deployment gives it to level 3, and the site's customer
# approver approves the session.
sed -i 's/^role\.specialist\.3 = .*/& patient_records/' "$SRV/policy.conf"
restart_server
add_user carol customer_approver 1 US "$SITE"
login_user carol
sid=$(request_actions "TCK-402 records" shell patient_records)
[ -n "$sid" ] || fail "the request for patient_records was refused"
[ "$(session_state "$sid")" = awaiting_customer ] || fail "patient_records did not wait for the customer"
expect_contains "$(api_as carol POST "/api/v1/approvals/$sid/approve")" '"state"' "the customer approves"
consent_session "$sid"
ssh_master "$sid"
out=$(device_ssh device "cat $D/data/patients/p1.txt" 2>&1 || true)
expect_contains "$out" "patient record 4711" "patient_records lifts the refusal list"
expect_contains "$(agent_audit_detail shell_start | grep "$sid")" '"patient_data_hidden":false' "shell_start says nothing was hidden"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

# Where the agent runs as root, also show the other branch: under a unit
# that forbids new namespaces (RestrictNamespaces=yes, applied as systemd
# would by tests/harness/unitexec) the cover cannot be built, so the shell
# is refused (fail closed) and the client is told why.
if [ "$(id -u)" = 0 ]; then
	kill "$PID_agent"
	wait_for 10 sh -c "! kill -0 $PID_agent 2>/dev/null" || fail "the agent did not stop"
	bg agent2 unitexec "$TETHER_SRC/dist/tether-agent.service" --set RestrictNamespaces=yes -- \
		tether-agent run --config "$AGENT_DIR/tether-agent.conf"
	wait_online
	sid=$(request_actions "TCK-402 no namespaces" shell)
	consent_session "$sid"
	# shellcheck disable=SC2086
	out=$(printf 'echo shell-ran\nexit\n' | timeout 20 ssh $DEVICE_SSH_OPTS -tt \
		-o PreferredAuthentications=password -o ProxyCommand="tether connect $sid" device 2>&1 || true)
	expect_not_contains "$out" "shell-ran" "without namespaces no shell runs"
	expect_contains "$out" "patient data cannot be hidden from a shell on this device" "the client is told why"
	expect_contains "$(agent_audit_detail shell_refused | grep "$sid")" \
		'"reason":"patient data cannot be hidden from a shell on this device"' "shell_refused audited"
fi

#!/bin/sh
# SFTP with OpenSSH's sftp client, inside the device's allowlisted
# folders only: a get is audited with path, size and SHA-256; outside the
# allowlist (directly, through ../, through a symlink) is refused; a put
# needs files:write; a patient-data file is refused even with files:read
# and files:write, and a listing hides it.
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/logs" "$D/data/patients" "$D/secret" "$D/upload" "$WORK/local"
printf 'pump log line %s\n' 1 2 3 >"$D/logs/device.log"
echo "top secret" >"$D/secret/secret.txt"
ln -s ../secret/secret.txt "$D/logs/link.log"
echo "patient record" >"$D/data/patients/p1.txt"
echo "DICM image" >"$D/data/scan.dcm"
echo "calibration" >"$D/data/calib.txt"
echo "new firmware notes" >"$WORK/local/notes.txt"
# As root the agent serves SFTP as an unprivileged account, which must be
# able to write into the upload folder, as on a device.
chmod 1777 "$D/upload"
AGENT_EXTRA_CONF="files.logs = $D/logs
files.data = $D/data
files.upload = $D/upload
patient_data.records = $D/data/patients
patient_data.images = $D/data/*.dcm"
full_stack 1
setup_askpass "$SUPPORT_PW"

# tether sftp: asks for files:read, runs OpenSSH's sftp through the tunnel
# (commands on stdin: -b would forbid the support password).
printf 'get %s %s\n' "$D/logs/device.log" "$WORK/local/got.log" >"$WORK/batch1"
tether sftp "$SERIAL" --reason "TCK-410 logs" <"$WORK/batch1" >"$WORK/sftp1.out" 2>&1 &
spid=$!
sid=$(pending_session_id)
agent_consent accept "$sid" >/dev/null || fail "accept"
rc=0; wait "$spid" || rc=$?
[ "$rc" -eq 0 ] || fail "tether sftp get failed ($rc): $(cat "$WORK/sftp1.out")"
cmp -s "$D/logs/device.log" "$WORK/local/got.log" || fail "the file fetched differs"
pass "tether sftp fetched an allowlisted file"
rec=$(agent_audit_detail file_read | grep "device.log" | tail -1)
[ "$(printf '%s' "$rec" | jq -r .path)" = "$D/logs/device.log" ] || fail "file_read path: $rec"
[ "$(printf '%s' "$rec" | jq -r .size)" = "$(wc -c <"$D/logs/device.log")" ] || fail "file_read size: $rec"
[ "$(printf '%s' "$rec" | jq -r .sha256)" = "$(sha256sum <"$D/logs/device.log" | cut -d' ' -f1)" ] ||
	fail "file_read sha256: $rec"
[ "$(printf '%s' "$rec" | jq -r .session)" = "$sid" ] || fail "file_read session: $rec"
pass "file_read audited with path, size and sha256"

# sftp_try NAME COMMAND: one sftp batch command over the session's master
# connection; 0 when sftp reports success.
sftp_try() {
	printf '%s\n' "$2" >"$WORK/batch-$1"
	# shellcheck disable=SC2086
	timeout 20 sftp $DEVICE_SSH_OPTS -o ControlPath="$WORK/ctl" -b "$WORK/batch-$1" device \
		>"$WORK/sftp-$1.out" 2>&1
}

sid=$(request_actions "TCK-410 read only" files:read)
consent_session "$sid"
ssh_master "$sid"
sftp_try ok "get $D/data/calib.txt $WORK/local/calib.txt" || fail "get in files.data: $(cat "$WORK/sftp-ok.out")"
for probe in "outside:$D/secret/secret.txt" "dotdot:$D/logs/../secret/secret.txt" \
             "symlink:$D/logs/link.log" "patient:$D/data/patients/p1.txt" "image:$D/data/scan.dcm"; do
	name=${probe%%:*}; path=${probe#*:}
	rm -f "$WORK/local/$name"
	if sftp_try "$name" "get $path $WORK/local/$name" || [ -s "$WORK/local/$name" ]; then
		fail "get $path was served"
	fi
	pass "get refused: $name"
done
refused=$(agent_audit_detail file_refused)
# (the symlink is refused and audited under the path it resolves to)
for what in secret/secret.txt patients scan.dcm; do
	expect_contains "$refused" "$what" "refusal of $what audited"
done
sftp_try ls "ls -1 $D/data" || fail "ls failed: $(cat "$WORK/sftp-ls.out")"
expect_contains "$(cat "$WORK/sftp-ls.out")" "calib.txt" "the listing shows the allowed file"
expect_not_contains "$(cat "$WORK/sftp-ls.out")" "scan.dcm" "the listing hides the patient image"
expect_not_contains "$(cat "$WORK/sftp-ls.out")" "patients" "the listing hides the patient folder"
# The areas by name (files.NAME) at the client's root: where sftp starts,
# its listing, a get by name and a cd into one; nothing else at the root.
sftp_try root "pwd
ls -1 /
get /logs/device.log $WORK/local/byname.log
cd data
get calib.txt $WORK/local/calib2.txt" || fail "named areas: $(cat "$WORK/sftp-root.out")"
out=$(cat "$WORK/sftp-root.out")
expect_contains "$out" "Remote working directory: /" "sftp starts at the areas' root"
for a in logs data upload; do
	printf '%s\n' "$out" | grep -qx "/$a" || fail "ls / does not list the area $a: $out"
done
pass "ls / lists the areas logs, data and upload by name"
cmp -s "$D/logs/device.log" "$WORK/local/byname.log" || fail "get /logs/device.log differs"
cmp -s "$D/data/calib.txt" "$WORK/local/calib2.txt" || fail "get calib.txt in /data differs"
rec=$(agent_audit_detail file_read | grep calib.txt | tail -1)
[ "$(printf '%s' "$rec" | jq -r .path)" = "$D/data/calib.txt" ] || fail "file_read by name: $rec"
pass "a file by its area's name is served, and audited under its real path"
if sftp_try nosuch "get /nosuch/x $WORK/local/nosuch" || sftp_try mkroot "mkdir /newarea"; then
	fail "a path outside the areas was served: $(cat "$WORK/sftp-nosuch.out" "$WORK/sftp-mkroot.out")"
fi
expect_contains "$(agent_audit_detail file_refused)" "/nosuch/x" "a name that is no area is refused and audited"
if sftp_try put "put $WORK/local/notes.txt $D/upload/notes.txt" || [ -e "$D/upload/notes.txt" ]; then
	fail "put worked without files:write"
fi
pass "put refused without files:write"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

sid=$(request_actions "TCK-410 upload" files:read files:write)
consent_session "$sid"
ssh_master "$sid"
sftp_try put2 "put $WORK/local/notes.txt $D/upload/notes.txt" || fail "put with files:write: $(cat "$WORK/sftp-put2.out")"
cmp -s "$WORK/local/notes.txt" "$D/upload/notes.txt" || fail "the uploaded file differs"
rec=$(agent_audit_detail file_write | grep notes.txt | tail -1)
[ "$(printf '%s' "$rec" | jq -r .sha256)" = "$(sha256sum <"$WORK/local/notes.txt" | cut -d' ' -f1)" ] ||
	fail "file_write sha256: $rec"
pass "put works with files:write and is audited with its sha256"
if sftp_try patient2 "get $D/data/patients/p1.txt $WORK/local/p2" || [ -s "$WORK/local/p2" ]; then
	fail "a patient file was served with files:write"
fi
pass "patient data refused even with files:read and files:write"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

# tether sftp --upload asks for files:write too.
echo "service report" >"$WORK/local/report.txt"
printf 'put %s %s\n' "$WORK/local/report.txt" "$D/upload/report.txt" >"$WORK/batch2"
tether sftp "$SERIAL" --upload --reason "TCK-410 upload" <"$WORK/batch2" >"$WORK/sftp2.out" 2>&1 &
spid=$!
sid=$(pending_session_id)
expect_contains "$(agent_consent list)" "files:read,files:write" "the operator sees the upload asked for"
agent_consent accept "$sid" >/dev/null || fail "accept"
wait "$spid" || fail "tether sftp --upload failed: $(cat "$WORK/sftp2.out")"
cmp -s "$WORK/local/report.txt" "$D/upload/report.txt" || fail "tether sftp --upload did not upload"
pass "tether sftp --upload uploads"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device audit chain broken"

#!/bin/sh
# A rename (or remove) of a directory above refused paths is refused, with
# files:read and files:write: renaming "site" to "site2" would turn the
# refused site/studies/p.txt into a readable site2/studies/p.txt, and
# renaming "series" out from under patient_data.series = .../series/* does
# the same. Both refusals are audited; the data stays where it was.
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/data/site/studies" "$D/data/img/series" "$D/data/other"
echo "study of patient 4711" >"$D/data/site/studies/p.txt"
echo "series of patient 4711" >"$D/data/img/series/s1.txt"
echo "calibration" >"$D/data/other/calib.txt"
device_files "$D/data"
AGENT_EXTRA_CONF="files.data = $D/data
patient_data.study = $D/data/site/studies/p.txt
patient_data.series = $D/data/img/series/*"
full_stack 1
setup_askpass "$SUPPORT_PW"

sid=$(request_actions "TCK-430 rename" files:read files:write)
consent_session "$sid"
ssh_master "$sid"

# the refusal list works on the paths themselves
if device_sftp p "get $D/data/site/studies/p.txt $WORK/p.txt" || [ -s "$WORK/p.txt" ]; then
	fail "the refused study was served"
fi
pass "the study is refused where it is"

if device_sftp site "rename $D/data/site $D/data/site2"; then
	fail "renaming site was allowed: $(cat "$WORK/sftp-site.out")"
fi
[ -f "$D/data/site/studies/p.txt" ] && [ ! -e "$D/data/site2" ] || fail "site was moved"
expect_contains "$(cat "$WORK/sftp-site.out")" "Permission denied" "the client is told it was refused"
if device_sftp site2 "get $D/data/site2/studies/p.txt $WORK/p2.txt" || [ -s "$WORK/p2.txt" ]; then
	fail "the study was served under its new name"
fi
pass "renaming the study's ancestor is refused"

if device_sftp series "rename $D/data/img/series $D/data/other/series"; then
	fail "renaming series was allowed: $(cat "$WORK/sftp-series.out")"
fi
[ -f "$D/data/img/series/s1.txt" ] && [ ! -e "$D/data/other/series" ] || fail "series was moved"
if device_sftp img "rename $D/data/img $D/data/img2"; then
	fail "renaming img (above series) was allowed"
fi
[ -d "$D/data/img/series" ] || fail "img was moved"
pass "renaming series (or above it) out from under its pattern is refused"

if device_sftp rmdir "rmdir $D/data/img/series"; then
	fail "rmdir of series was allowed"
fi
pass "rmdir of a refused path's ancestor is refused"

# an unrelated directory still renames
device_sftp other "rename $D/data/other $D/data/other2" ||
	fail "renaming an unrelated folder failed: $(cat "$WORK/sftp-other.out")"
[ -f "$D/data/other2/calib.txt" ] || fail "other was not renamed"
pass "an unrelated folder still renames"

refused=$(agent_audit_detail file_refused | grep '"holds patient data"')
expect_contains "$refused" "\"path\":\"$D/data/site\"" "the site rename refusal is audited"
expect_contains "$refused" "\"path\":\"$D/data/img/series\"" "the series rename refusal is audited"
expect_contains "$refused" '"op":"rmdir"' "the rmdir refusal is audited"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

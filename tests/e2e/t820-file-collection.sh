#!/bin/sh
# Data files from the device (issue 9, section 2): collect.NAME's files are
# read as the support user, a patient-data file is refused on the device
# (audited there, reported to the server, never sent), as are a symbolic
# link and a file over max_file; the rest reaches the server's
# content-addressed store whole and verified; an upload resumes where the
# server's copy ends after an agent SIGKILL and after a server SIGKILL, paced
# by upload_rate; the device's quota refuses what does not fit; `tether
# files list` and `files get` give the same bytes back, for files:collect
# only; both sides audit each file with its path, size and hash.
. "$(dirname "$0")/lib.sh"

D="$WORK/device/logs"
mkdir -p "$D"
chmod 755 "$WORK/device" "$D"
printf 'boot ok\npump calibrated\n' >"$D/a.log"
head -c 1048576 /dev/urandom >"$D/big.log"        # 1 MiB: 8 chunks of 128 KiB, 2 s each
printf 'PATIENT Jane Doe, MRN 4711\n' >"$D/patient-export.log"
head -c 2200000 /dev/urandom >"$D/huge.log"       # over max_file (2M)
ln -s /etc/hostname "$D/link.log"
chmod 644 "$D"/*.log

SERVER_EXTRA_CONF="files.quota_mb = 2"
deploy 1
AGENT_EXTRA_CONF="collect.logs = $D/*.log max_file=2M max_total=8M every=1h
patient_data.exports = $D/patient-*.log
upload_rate = 64K"
agent_setup "$SERIAL"
cli_login
wait_online

stored() { tether-server audit list --dir "$SRV" | grep file_stored | grep -c "$1" || true; }
# big.log's part only (a.log's is there for an instant too).
BIG_SHA=$(sha256sum "$D/big.log" | cut -d' ' -f1)
BIG_PART="$SRV/files/partial/$SERIAL+$BIG_SHA+1048576.part"
part_size() { stat -c %s "$BIG_PART" 2>/dev/null; }
# Early in the upload (at most 2 of its 8 chunks), so that both kills below
# find it still under way however slow the machine is.
part_between() { _s=$(part_size); [ -n "$_s" ] && [ "$_s" -gt 0 ] && [ "$_s" -le 262144 ]; }

# Mid-upload of big.log (paced at 64 KiB/s): kill the agent outright.
wait_for 40 part_between || fail "big.log never was part way on the server"
before=$(part_size)
pkill -9 -f "tether-agent run --config $AGENT_DIR/tether-agent.conf" || true
agent_gone() { ! pgrep -f "tether-agent run --config $AGENT_DIR/tether-agent.conf" >/dev/null; }
wait_for 10 agent_gone || fail "the agent did not die on SIGKILL"
bg agent-2 tether-agent run --config "$AGENT_DIR/tether-agent.conf"
PID_agent=$PID_agent_2
AGENT_RUNS=2
wait_for 40 sh -c "grep -q 'big.log.*resuming there\|resuming there' '$WORK/agent-2.log'" ||
	fail "the restarted agent did not resume the upload: $(grep -i 'file\|collect' "$WORK/agent-2.log" | tail -5)"
held=$(sed -n 's/.*the server holds \([0-9]*\) of 1048576 bytes.*/\1/p' "$WORK/agent-2.log" | head -1)
[ -n "$held" ] && [ "$held" -ge "$before" ] || fail "resumed at ${held:-?}, the server held $before"
pass "after an agent SIGKILL the upload resumes at the server's $held bytes"

# Mid-upload again: kill the server outright; the agent goes on once it is back.
wait_for 20 sh -c "[ \$(stat -c %s '$BIG_PART' 2>/dev/null || echo 0) -gt $held ]" ||
	fail "the upload did not go on after the agent's restart"
sigkill_wait "$PID_server"
server_restart 2
wait_for 90 sh -c "tether-server audit list --dir '$SRV' | grep file_stored | grep -q big.log" ||
	fail "big.log was not stored after the server's restart"
[ "$(stored big.log)" = 1 ] || fail "big.log was stored $(stored big.log) times"
pass "after a server SIGKILL the upload finishes, stored once"

# What the server has, as the specialist sees it.
# All three refusals (patient data, link, over max_file): they arrive one
# after another, and the list below must not race the last.
refusals() { [ "$(tether-server audit list --dir "$SRV" | grep -c file_refused_on_device || true)" -ge 3 ]; }
wait_for 30 refusals || fail "the device's refusals never all reached the server"
list=$(tether files list "$SERIAL") || fail "files list: $list"
expect_contains "$list" "a.log" "files list shows a.log"
expect_contains "$list" "refused on the device: $D/patient-export.log: patient data" \
	"the patient-data refusal is reported to the server and shown"
expect_contains "$list" "link.log: a symbolic link" "a symbolic link is refused"
expect_contains "$list" "huge.log: larger than max_file" "a file over max_file is refused"
id=$(tether --json files list "$SERIAL" | jq -r '.files[] | select(.path | endswith("/big.log")) | .id')
[ -n "$id" ] || fail "no id for big.log"
tether files get "$id" -o "$WORK/big.copy" >"$WORK/get.out" 2>&1 || fail "files get: $(cat "$WORK/get.out")"
cmp -s "$D/big.log" "$WORK/big.copy" || fail "the fetched big.log differs from the device's"
sha=$(sha256sum "$D/big.log" | cut -d' ' -f1)
expect_contains "$(cat "$WORK/get.out")" "$sha" "files get prints the SHA-256 it checked"
[ -f "$SRV/files/blobs/$sha" ] || fail "the blob is not kept under its SHA-256"
pass "files get gives back the device's bytes, kept content-addressed"

# The patient's data never left the device.
if grep -rq "Jane Doe" "$SRV" 2>/dev/null; then fail "patient data reached the server"; fi
pass "the patient-data file's bytes are nowhere on the server"

# Both trails.
dev=$(cat "$AGENT_DIR/state/audit.log")
expect_contains "$dev" "file_refused" "the device audits the refusal"
expect_contains "$(printf '%s\n' "$dev" | grep file_refused | grep patient-export)" "patient data" \
	"the device's record says patient data"
expect_contains "$(printf '%s\n' "$dev" | grep file_collected | grep big.log)" "$sha" \
	"the device audits the file with its hash"
expect_contains "$(printf '%s\n' "$dev" | grep file_sent | grep big.log)" "size 1048576" \
	"the device audits the file sent with its size"
srva=$(tether-server audit list --dir "$SRV")
expect_contains "$(printf '%s\n' "$srva" | grep file_stored | grep big.log)" "\"sha256\":\"$sha\"" \
	"the server audits the file stored with its hash"
expect_contains "$(printf '%s\n' "$srva" | grep file_fetched)" "\"id\":$id" "the fetch is audited"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device trail broken"
tether-server audit verify --dir "$SRV" >/dev/null || fail "server trail broken"

# The quota: a.log and big.log fit 2 MiB; a second big file does not.
head -c 1200000 /dev/urandom >"$D/zbig.log"
chmod 644 "$D/zbig.log"
restart_agent
wait_for 40 sh -c "tether-server audit list --dir '$SRV' | grep file_refused | grep -q zbig.log" ||
	fail "the file over the quota was not refused"
expect_contains "$(tether-server audit list --dir "$SRV" | grep file_refused | grep zbig.log)" \
	"over the device's files.quota_mb" "the quota refusal says why"
wait_for 20 sh -c "grep -q 'file_not_taken.*zbig.log' '$AGENT_DIR/state/audit.log'" ||
	fail "the device did not audit the server's refusal"
pass "the device's quota refuses a file that does not fit, audited on both sides"

# files:collect only: a level 1 specialist may not list or fetch.
add_user bob specialist 1
login_user bob
out=$(TETHER_HOME="$WORK/home-bob" tether files list "$SERIAL" 2>&1) && fail "bob listed files: $out"
expect_contains "$out" "files:collect" "a specialist without files:collect is refused, naming it"
expect_contains "$(tether devices show "$SERIAL")" "recent files" "devices show lists the recent files"
expect_contains "$(tether devices show "$SERIAL" | sed -n '/^recent files/,$p')" "big.log" \
	"devices show names a collected file"
expect_not_contains "$(TETHER_HOME="$WORK/home-bob" tether devices show "$SERIAL")" "recent files" \
	"devices show lists no files without files:collect"
out=$(tether files get 2>&1) && fail "files get without an id worked"
expect_contains "$out" "usage" "files get without arguments is a usage error"

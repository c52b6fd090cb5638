#!/bin/sh
# A session's shell recording travels to the server after the session's end
# and plays back with `tether play`: the server keeps it byte for byte
# (recording_stored on the server, recording_sent on the device), play shows
# the shell's output without what would drive the viewer's terminal (an OSC
# title, a bidi override), a recording made while the server was down is sent
# once it is back, and the upload endpoint resumes, checks the SHA-256, the
# name and the size cap.
. "$(dirname "$0")/lib.sh"

SPEC_LEVEL=3    # a shell is a level 3 permission (policy.conf)
full_stack 1
setup_askpass "$SUPPORT_PW"
REC="$AGENT_DIR/state/recordings"

# shell_session TAG: a recorded shell that prints a marker, a title-setting
# OSC and a right-to-left override; prints the session id.
shell_session() {
	printf '%s\n' "echo \"rec-$1-\$((6*7))\"" \
		"printf '\\033]0;pwned-title\\007'" \
		"printf 'bidi:\\342\\200\\256gnp.exe\\n'" "exit 0" >"$WORK/input-$1"
	tether ssh "$SERIAL" --reason "TCK-795 $1" -- -tt <"$WORK/input-$1" \
		>"$WORK/ssh-$1.out" 2>"$WORK/ssh-$1.log" &
	spid=$!
	sid=$(pending_session_id)
	agent_consent accept "$sid" >/dev/null || fail "accept"
	wait "$spid" || fail "tether ssh $1 failed: $(cat "$WORK/ssh-$1.log")"
	echo "$sid"
}

stored() {
	tether-server audit list --dir "$SRV" 2>/dev/null | awk '$4 == "recording_stored"' |
		grep -q -- "$1"
}

sid=$(shell_session one)
wait_for 30 stored "$sid" || fail "no recording_stored for $sid on the server"
cast=$(ls "$REC/$sid"-*.cast | head -1)
name=$(basename "$cast")
cmp -s "$cast" "$SRV/recordings/$sid/$name" || fail "the server's copy differs from the device's"
pass "the recording reached the server byte for byte"
audit_has recording_stored "$(sha256sum <"$cast" | cut -d' ' -f1)" "stored with its SHA-256"
[ -e "$cast.sent" ] || fail "no .sent marker beside the device's recording"
expect_contains "$(agent_audit_detail recording_sent)" "$name" "the device audits recording_sent"
[ -e "$cast" ] || fail "the device's copy was removed"

list=$(tether --json play "$sid") || fail "tether --json play: $list"
[ "$(printf '%s' "$list" | jq -r '.recordings[0].name')" = "$name" ] || fail "listed: $list"
[ "$(printf '%s' "$list" | jq -r '.recordings[0].size')" = "$(wc -c <"$cast")" ] ||
	fail "listed size: $list"
pass "tether --json play lists the recording with its size"

tether play "$sid" --speed 0 >"$WORK/play.out" 2>"$WORK/play.err" ||
	fail "tether play failed: $(cat "$WORK/play.err")"
grep -q 'rec-one-42' "$WORK/play.out" || fail "the replay lacks the shell's output: $(cat "$WORK/play.out")"
pass "tether play replays the shell's output"
# (the typed command line is echoed as plain text, so look for the escape)
if grep -q "$(printf '\033]')" "$WORK/play.out"; then
	fail "the replay passed the OSC title sequence to the terminal"
fi
if grep -q "$(printf '\342\200\256')" "$WORK/play.out"; then
	fail "the replay passed a right-to-left override"
fi
tail -n +2 "$cast" | jq -j 'select(.[1] == "o") | .[2]' >"$WORK/raw.out"
grep -q "$(printf '\033]0;pwned-title')" "$WORK/raw.out" ||
	fail "the recording itself lacks the OSC (test is void)"
grep -q "$(printf '\342\200\256')" "$WORK/raw.out" ||
	fail "the recording itself lacks the bidi override (test is void)"
pass "the replay drops the OSC title and the bidi override the device recorded"
audit_has recording_viewed "$name" "the viewing"
tether play "$sid" --speed fast >/dev/null 2>&1 && fail "--speed fast was taken"
tether play 2>/dev/null && fail "play without a session was taken"
pass "bad play arguments are usage errors"

# The server is down when the session ends: the recording waits on the device
# and goes once the server is back (the agent retries after 15 s).
tether ssh "$SERIAL" --reason "TCK-795 two" -- -tt <"$WORK/input-one" >"$WORK/ssh-two.out" 2>&1 &
spid=$!
sid2=$(pending_session_id)
agent_consent accept "$sid2" >/dev/null || fail "accept two"
wait_for 20 sh -c "ls '$REC/$sid2'-*.cast" || fail "no recording for $sid2"
kill "$PID_server"
wait "$spid" || true
tether-agent consent end "$sid2" --config "$AGENT_DIR/tether-agent.conf" >/dev/null 2>&1 || true
wait_for 20 sh -c "! tether-agent consent status --config '$AGENT_DIR/tether-agent.conf' | grep -q '$sid2'" ||
	fail "session $sid2 still runs on the device"
sleep 2
stored "$sid2" && fail "stored while the server was down?"
restart_server
wait_for 60 stored "$sid2" || fail "the recording of $sid2 never reached the server after the outage"
cast2=$(ls "$REC/$sid2"-*.cast | head -1)
cmp -s "$cast2" "$SRV/recordings/$sid2/$(basename "$cast2")" || fail "the copy after the outage differs"
pass "a recording made while the server was down reaches it once it is back"

# The endpoint itself, as the device: chunks resume at what the server holds,
# the SHA-256 is checked, and names and sizes are bounded.
DEV="$AGENT_DIR/state"
printf '{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "hello"]\n' >"$WORK/fake.cast"
size=$(wc -c <"$WORK/fake.cast")
sha=$(sha256sum <"$WORK/fake.cast" | cut -d' ' -f1)
b64() { basenc --base64url | tr -d '=\n'; }
part1=$(head -c 20 "$WORK/fake.cast" | b64)
rest=$(tail -c +21 "$WORK/fake.cast" | b64)
up() { # NAME OFFSET DATA [SHA] [SIZE]
	device_api "$DEV" POST /api/v1/device/recording "{\"session\": \"$sid\", \"name\": \"$1\",
		\"size\": ${5:-$size}, \"sha256\": \"${4:-$sha}\", \"offset\": $2, \"data\": \"$3\"}"
}
out=$(up "$sid-c7-1.cast" 0 "$part1")
[ "$(printf '%s' "$out" | jq -r .have)" = 20 ] || fail "first chunk: $out"
out=$(up "$sid-c7-1.cast" 0 "$part1")
[ "$(printf '%s' "$out" | jq -r .have)" = 20 ] || fail "a repeated chunk was not answered with what is held: $out"
[ "$(stat -c %s "$SRV/recordings/$sid/$sid-c7-1.cast.part")" = 20 ] || fail "a repeated chunk was appended"
pass "a chunk sent again is answered with what the server holds (resume)"
out=$(up "$sid-c7-1.cast" 20 "$rest")
[ "$(printf '%s' "$out" | jq -r .done)" = true ] || fail "last chunk: $out"
cmp -s "$WORK/fake.cast" "$SRV/recordings/$sid/$sid-c7-1.cast" || fail "the resumed upload differs"
pass "the resumed upload is kept whole"
bad=$(printf '%064d' 0)
out=$(up "$sid-c7-2.cast" 0 "$(b64 <"$WORK/fake.cast")" "$bad")
expect_contains "$out" "sha256_mismatch" "a wrong SHA-256 is refused"
[ ! -e "$SRV/recordings/$sid/$sid-c7-2.cast" ] || fail "a mismatched recording was kept"
[ ! -e "$SRV/recordings/$sid/$sid-c7-2.cast.part" ] || fail "a mismatched part was kept"
audit_has recording_refused "$sid-c7-2.cast" "the mismatch"
out=$(up "../../etc/x.cast" 0 "")
expect_contains "$(printf '%s' "$out" | jq -r '.. | strings')" 'field "name"' \
	"a name that is no recording of the session is refused"
out=$(up "$sid-1.cast" 0 "" "$sha" 999999999999)
expect_contains "$out" "too_large" "a recording over recording_max_bytes is refused"
[ "$(api GET "/api/v1/sessions/$sid/recordings" | jq '.recordings | length')" -ge 2 ] ||
	fail "the session's list lacks the resumed upload"
pass "the session lists both recordings"

#!/bin/sh
# `audit verify` finds an edited, a deleted and a reordered audit record, on
# the server (database) and on the device (file).
. "$(dirname "$0")/lib.sh"

deploy 1
cli_login
tether logout >/dev/null
cli_login
tether-server audit verify --dir "$SRV" >/dev/null || fail "fresh chain does not verify"
pass "fresh server chain verifies"

# Tamper with a copy, as an intruder with file access would, while the
# server keeps running on the original.
T="$WORK/tampered"
DB="$T/tether.db"
restore() {
	rm -rf "$T"
	sqlite3 "$SRV/tether.db" ".backup '$WORK/pristine.db'"
	mkdir -p "$T"; cp "$SRV/tether-server.conf" "$T/"; cp "$WORK/pristine.db" "$DB"
}
restore
sqlite3 "$DB" "UPDATE audit SET actor = 'mallory' WHERE seq = 3"
out=$(tether-server audit verify --dir "$T" 2>&1) && fail "edit not detected"
expect_contains "$out" "3" "server: edited record found"
restore
sqlite3 "$DB" "DELETE FROM audit WHERE seq = 2"
out=$(tether-server audit verify --dir "$T" 2>&1) && fail "deletion not detected"
expect_contains "$out" "2" "server: deleted record found"
restore
sqlite3 "$DB" "UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -1"
out=$(tether-server audit verify --dir "$T" 2>&1) && fail "reordering not detected"
pass "server: reordered records found"
restore
out=$(tether-server audit verify --dir "$T" 2>&1) || fail "untouched copy does not verify: $out"
pass "server: an untouched copy verifies"

start_device_service
agent_setup "$SERIAL"
wait_online   # a device never seen is refused at once (t720)
# a refused request gives the device log a few more records
sid=$(tether session request "$SERIAL" --reason "TCK-9 audit")
wait_consent_pending "$sid"
agent_consent deny "$sid" >/dev/null
LOGF="$AGENT_DIR/state/audit.log"
# Tamper only once the agent has stopped: its last record (agent_stop) is
# written and it no longer holds the file.
kill "$PID_agent"
wait_for 20 sh -c "! kill -0 $PID_agent" || fail "the agent did not stop"
tail -1 "$LOGF" | grep -q '"action":"agent_stop"' || fail "the agent's last record is not agent_stop"
[ "$(wc -l <"$LOGF")" -ge 3 ] || fail "device audit too short to tamper with"
cp "$LOGF" "$WORK/pristine.log"
sed -i '2s/"actor":"[^"]*"/"actor":"mallory"/' "$LOGF"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null 2>&1 && fail "device edit not detected"
pass "device: edited record found"
cp "$WORK/pristine.log" "$LOGF"; sed -i '2d' "$LOGF"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null 2>&1 && fail "device deletion not detected"
pass "device: deleted record found"
awk 'NR == 2 { held = $0; next } NR == 3 { print; print held; next } { print }' \
	"$WORK/pristine.log" >"$LOGF"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null 2>&1 && fail "device reordering not detected"
pass "device: reordered records found"

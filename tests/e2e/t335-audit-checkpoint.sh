#!/bin/sh
# Signed audit checkpoints (issue 7, section 7): whoever administers the
# server's database can cut the end of its audit chain or edit a record and
# hash the chain again; `audit verify` catches both against the signer's
# checkpoints, and says how many records a cut could take unseen. Devices
# and relays keep the latest checkpoint they were shown, which catches a cut
# that also empties the checkpoints table, and refuse a lower one.
. "$(dirname "$0")/lib.sh"

# Short polls: each answer (and its checkpoint) comes at once.
AGENT_LONGPOLL=no
AGENT_POLL_INTERVAL_S=2
full_stack 1
DB="$SRV/tether.db"
DEV_CP="$AGENT_DIR/state/checkpoint.json"
RELAY_CP="$SRV/relays/relay-1/audit.log.checkpoint"

# A session, so that the relay reports and is answered with a checkpoint.
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "all systems nominal" "a session runs"
kill "$PID_forward"
wait_state "$SESSION" ended
wait_for 20 test -s "$DEV_CP" || fail "the device kept no checkpoint"
wait_for 20 test -s "$RELAY_CP" || fail "the relay kept no checkpoint"
for f in "$DEV_CP" "$RELAY_CP"; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f is mode $(stat -c %a "$f")"
done
pass "the device and the relay each keep the server's signed checkpoint (0600)"

kill "$PID_server"
wait_for 15 sh -c "! kill -0 $PID_server" || fail "the server did not stop"
HEAD=$(sqlite3 "$DB" "SELECT max(seq) FROM audit")
out=$(tether-server audit verify --dir "$SRV") || fail "audit verify failed on an intact trail: $out"
expect_contains "$out" "chain intact to seq $HEAD" "the chain verifies to its head"
expect_contains "$out" "every record is covered by a signed checkpoint" \
	"the shutdown checkpoint covers the last record"
sqlite3 "$DB" ".backup '$WORK/pristine.db'"
restore() { sqlite3 "$DB" ".restore '$WORK/pristine.db'"; }

# ---- (b) the database administrator cuts the end --------------------------
sqlite3 "$DB" "DELETE FROM audit WHERE seq > (SELECT max(seq) FROM audit) - 3"
rc=0; out=$(tether-server audit verify --dir "$SRV") || rc=$?
[ "$rc" -ne 0 ] || fail "audit verify passed a trail whose last 3 records were deleted: $out"
expect_contains "$out" "checkpoint seq $HEAD" "the failure names the checkpoint"
expect_contains "$out" "records were deleted (truncation)" "a cut end is reported as truncation"
restore

# ---- (b) ... or edits a record and hashes the chain again -----------------
EDIT=$((HEAD - 5))
python3 - "$DB" "$EDIT" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
edit = int(sys.argv[2])
db.execute("UPDATE audit SET detail = detail || ' (edited)' WHERE seq = ?", (edit,))
prev = db.execute("SELECT hash FROM audit WHERE seq = ?", (edit - 1,)).fetchone()[0]
for seq, ts, actor, action, detail in db.execute(
        "SELECT seq, ts, actor, action, detail FROM audit WHERE seq >= ? ORDER BY seq",
        (edit,)).fetchall():
    text = "%d\n%s\n%s\n%s\n%s\n%s" % (seq, ts, actor, action, detail, prev)
    h = hashlib.sha256(text.encode()).hexdigest()
    db.execute("UPDATE audit SET prev = ?, hash = ? WHERE seq = ?", (prev, h, seq))
    prev = h
db.commit()
PY
rc=0; out=$(tether-server audit verify --dir "$SRV") || rc=$?
[ "$rc" -ne 0 ] || fail "audit verify passed an edited, re-hashed trail: $out"
expect_not_contains "$out" "chain broken" "the re-hashed chain itself links up"
expect_contains "$out" "checkpoint seq $HEAD" "the failure names the checkpoint"
expect_contains "$out" "edited and re-hashed" "an edit is reported as such"
restore

# ---- (c) the checkpoints kept off the host ---------------------------------
DSEQ=$(jq .seq "$DEV_CP")
RSEQ=$(jq .seq "$RELAY_CP")
for f in "$DEV_CP" "$RELAY_CP"; do
	out=$(tether-server audit verify --dir "$SRV" --checkpoint "$f") ||
		fail "the kept checkpoint $f does not match the intact trail: $out"
	expect_contains "$out" "matches the chain" "the checkpoint kept in $f matches the trail"
done
# The administrator cuts the end and the checkpoints table with it.
# Deep enough that the records of a restart stay below what they hold.
LOW=$(( (DSEQ < RSEQ ? DSEQ : RSEQ) - 3 ))
[ "$LOW" -gt 0 ] || fail "the kept checkpoints are at seq $DSEQ and $RSEQ, too low to cut below"
sqlite3 "$DB" "DELETE FROM audit WHERE seq > $LOW; DELETE FROM audit_checkpoints"
out=$(tether-server audit verify --dir "$SRV") || fail "audit verify on the emptied table: $out"
expect_contains "$out" "no signed checkpoint yet: a truncation of up to $LOW records could go undetected" \
	"without checkpoints on the host, verify says how much could be cut unseen"
for f in "$DEV_CP" "$RELAY_CP"; do
	rc=0; out=$(tether-server audit verify --dir "$SRV" --checkpoint "$f") || rc=$?
	[ "$rc" -ne 0 ] || fail "the checkpoint kept in $f did not catch the cut: $out"
	expect_contains "$out" "records were deleted (truncation)" "the checkpoint kept in $f catches the cut"
done

# The server runs on the cut trail and signs a lower head: both refuse it.
bg server-2 tether-server run --dir "$SRV"
PID_server=$PID_server_2
wait_port "$SERVER_PORT"
wait_for 30 grep -q server_checkpoint_refused "$AGENT_DIR/state/audit.log" ||
	fail "the device did not refuse the lower checkpoint"
expect_contains "$(grep server_checkpoint_refused "$AGENT_DIR/state/audit.log")" lower_seq \
	"the device refuses a lower checkpoint and audits it"
[ "$(jq .seq "$DEV_CP")" = "$DSEQ" ] || fail "the device replaced its checkpoint with a lower one"
pass "the device still holds seq $DSEQ"
cli_login
wait_online
LPORT=$(free_port)
start_forward "$LPORT"
kill "$PID_forward"
wait_state "$SESSION" ended
wait_for 20 grep -q server_checkpoint_refused "$SRV/relays/relay-1/audit.log" ||
	fail "the relay did not refuse the lower checkpoint"
[ "$(jq .seq "$RELAY_CP")" = "$RSEQ" ] || fail "the relay replaced its checkpoint with a lower one"
pass "the relay refuses a lower checkpoint, audits it and still holds seq $RSEQ"
tether-relay audit verify --config "$SRV/relays/relay-1/tether-relay.conf" >/dev/null ||
	fail "relay audit chain broken"
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
	fail "device audit chain broken"
pass "the device's and the relay's own trails verify"

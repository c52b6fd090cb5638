#!/bin/sh
# The device's state directory on a full disk. Appends to the audit log are
# all or nothing: a record that does not fit is cut back, so the chain never
# holds half a record. A device that cannot record refuses new sessions,
# saying why (the specialist reads it, the agent logs it); once space is free
# it serves sessions again by itself, with a chain that verifies.
. "$(dirname "$0")/lib.sh"

tmpfs_mount "$AGENT_DIR/state" 2m
full_stack 1
ACONF="$AGENT_DIR/tether-agent.conf"
LOGF="$AGENT_DIR/state/audit.log"
wait_for 20 grep -q '"action":"agent_start"' "$LOGF" || fail "the agent never opened its trail"

fill_disk "$AGENT_DIR/state"
# The log's last page may still hold a few records: requests are put to the
# operator (and denied) until one finds no room.
refused=""
try_n=0
while [ $try_n -lt 15 ] && [ -z "$refused" ]; do
	try_n=$((try_n + 1))
	sid=$(tether session request "$SERIAL" --reason "TCK-640 full disk $try_n")
	[ -n "$sid" ] || fail "no session id printed"
	poll_n=0
	while [ $poll_n -lt 100 ]; do
		if agent_consent list 2>/dev/null | grep -q "$sid"; then
			agent_consent deny "$sid" >/dev/null 2>&1 || true
			break
		fi
		if [ "$(session_state "$sid")" = ended ]; then
			refused=$sid
			break
		fi
		sleep 0.2
		poll_n=$((poll_n + 1))
	done
	wait_for 20 sh -c "tether --json session status $sid | grep -qE '\"state\": *\"(refused|ended)\"'" ||
		fail "session $sid is still $(session_state "$sid")"
done
[ -n "$refused" ] || fail "the device still took requests after $try_n on a full disk"
pass "request $try_n found the disk full"
out=$(tether session wait "$refused" --timeout 10 2>&1) && fail "wait succeeded: $out"
expect_contains "$out" "device audit trail unavailable" "the specialist is told the device has no trail"
expect_contains "$out" "No space left on device" "and why"
expect_contains "$(cat "$WORK/agent.log")" "session $refused: refused: device audit trail unavailable" \
	"the agent logs the refusal"
out=$(tether-agent audit verify --config "$ACONF" 2>&1) ||
	fail "the chain does not verify on the full disk (a half-written record?): $out"
pass "no half record: the chain verifies while the disk is full ($out)"
[ -z "$(tail -c 1 "$LOGF")" ] || fail "audit.log does not end on a whole line"

rm -f "$AGENT_DIR/state/filler" "$AGENT_DIR/state/filler2"
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "nominal" "after space is freed a session works, no restart needed"
out=$(tether-agent audit verify --config "$ACONF" 2>&1) || fail "the chain does not verify: $out"
pass "the device's chain verifies: $out"
grep -q "\"action\":\"tunnel_start\".*$SESSION" "$LOGF" || fail "the session is not in the device's trail"
pass "the session is in the device's trail"

#!/bin/sh
# The rest of the TUF attack list against the device's client (issue 10,
# section 7; the others are in t900, t905, t915 and t920):
#   mix-and-match: the snapshot the timestamp names replaced by an older
#     snapshot's contents at the same address;
#   fast-forward: a stolen timestamp key signs version 1000, which the
#     device takes (it cannot know); the real timestamps are then refused as
#     rollbacks until the administrator retires the key (`tether-server repo
#     keys --rotate timestamp`) and the release managers publish a root
#     naming the new one: the device then forgets the forged version and
#     follows again, and the stolen key signs nothing it takes.
. "$(dirname "$0")/lib.sh"

deploy 1
agent_setup "$SERIAL"
check() { tether-agent update check "$@" --config "$AGENT_DIR/tether-agent.conf"; }
M="$SRV/repo/metadata"
refused() {    # refused REASON WHAT
	if out=$(check 2>&1); then fail "$2 was accepted: $out"; fi
	expect_contains "$out" "refused ($1)" "$2 is refused ($1)"
}
ts_version() { jq -r .signed.version "$M/timestamp.json"; }
newer_ts() { [ "$(ts_version)" != "$1" ]; }
publish() {    # publish: the release manager's folder as it stands
	_v=$(ts_version)
	tether-server repo publish "$WORK/rm/R" --dir "$SRV" >"$WORK/pub.out" 2>&1 ||
		fail "publish: $(cat "$WORK/pub.out")"
	wait_for 20 newer_ts "$_v" || fail "no new timestamp after a publication"
}
release() {    # release NAME VERSION COUNTER
	head -c 3000 /dev/urandom >"$WORK/$1"
	repo_release "$WORK/rm" "$WORK/$1" "$@"
}

head -c 5000 /dev/urandom >"$WORK/pump-2.1.raucb"
repo_publish "$WORK/rm" "$WORK/pump-2.1.raucb"
check >/dev/null 2>&1 || fail "the first check"

# --- mix-and-match ----------------------------------------------------------------------
release pump-2.2.raucb 2.2 8
snap=$(jq -r '.signed.meta["snapshot.json"].version' "$M/timestamp.json")
cp "$M/$snap.snapshot.json" "$WORK/snap.good"
cp "$M/$((snap - 1)).snapshot.json" "$M/$snap.snapshot.json"
refused mix_and_match "an older snapshot served as the one the timestamp names"
cp "$WORK/snap.good" "$M/$snap.snapshot.json"
check >/dev/null 2>&1 || fail "the check after the snapshot was put back"
pass "mix-and-match is refused"

# --- fast-forward -------------------------------------------------------------------------
# The attacker holds the timestamp key: the served timestamp, version 1000,
# signed with it (canonical JSON of "signed": jq's sorted compact form, the
# document being ASCII; Ed25519 over it with openssl).
forge() {      # forge VERSION KEYFILE OUT
	jq -c --argjson v "$1" '.signed.version = $v | .signed' "$M/timestamp.json" | jq -cS . |
		tr -d '\n' >"$WORK/signed.json"
	sig=$(openssl pkeyutl -sign -rawin -inkey "$2" -in "$WORK/signed.json" | od -An -tx1 | tr -d ' \n')
	kid=$(jq -r '.signatures[0].keyid' "$M/timestamp.json")
	jq -c --argjson s "$(cat "$WORK/signed.json")" --arg sig "$sig" --arg kid "$kid" \
		'{signatures: [{keyid: $kid, sig: $sig}], signed: $s}' "$M/timestamp.json" >"$3"
}
cp "$M/timestamp.json" "$WORK/ts.real"
forge 1000 "$SRV/repo/keys/timestamp.key" "$WORK/ts.1000"
cp "$WORK/ts.1000" "$M/timestamp.json"
out=$(check 2>&1) || fail "the forged timestamp was refused, so the test proves nothing: $out"
expect_contains "$out" "timestamp 1000" "with the stolen key, version 1000 is taken"
cp "$WORK/ts.real" "$M/timestamp.json"
refused rollback "the real timestamp after the forged one"

# The administrator retires the stolen key; the server makes a new one.
sigkill_wait "$PID_server"
tether-server repo keys --rotate timestamp --dir "$SRV" >"$WORK/keys.out" 2>&1 ||
	fail "repo keys --rotate: $(cat "$WORK/keys.out")"
ls "$SRV/repo/keys/" | grep -q 'timestamp.key.retired-' || fail "the old key was not kept aside"
cp "$SRV/repo/keys/"timestamp.key.retired-* "$WORK/stolen.key"
server_restart 2
audit_has repo_key_rotated timestamp "the rotation is audited"
# The release managers: root 2, signed by the root key, names the new key.
tether repo root "$WORK/rm/R" --root-key "$WORK/rm/root.pub" --targets-key "$WORK/rm/targets.pub" \
	--snapshot-key "$SRV/repo/keys/snapshot.pub" --timestamp-key "$SRV/repo/keys/timestamp.pub" \
	>/dev/null 2>&1 || fail "repo root"
tether repo sign "$WORK/rm/R" root --key "$WORK/rm/root" >/dev/null || fail "sign root 2"
publish
[ "$(ts_version)" -lt 1000 ] || fail "the server's timestamp is $(ts_version)"
out=$(check 2>&1) || fail "the device did not recover after the rotation: $out"
expect_contains "$out" "root 2" "the device takes root 2"
expect_contains "$out" "timestamp $(ts_version)," "and the real timestamp again, below the forged one"
forge 2000 "$WORK/stolen.key" "$WORK/ts.2000"
cp "$M/timestamp.json" "$WORK/ts.real2"
cp "$WORK/ts.2000" "$M/timestamp.json"
refused signatures "a timestamp signed with the retired key"
cp "$WORK/ts.real2" "$M/timestamp.json"
pass "fast-forward: a forged high timestamp is undone by rotating the timestamp key"

trail=$(grep update_refused "$AGENT_DIR/state/audit.log")
for r in mix_and_match rollback signatures; do
	expect_contains "$trail" ": $r: " "the device audits the $r refusal"
done
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device trail broken"

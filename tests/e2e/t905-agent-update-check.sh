#!/bin/sh
# The device's TUF client (issue 10, sections 3 and 7): `tether-agent update
# check [TARGET]` refreshes the metadata the device trusts (state_dir/tuf)
# from the server's repository and shows a release's verified entry; it
# refuses, each with its reason on stderr and in the device's audit trail:
# too few signatures (a forged timestamp), a rollback (an older timestamp
# served again), a freeze (metadata past its expiry), endless data (a
# timestamp past its bound), and a target no role may sign for it.
. "$(dirname "$0")/lib.sh"

deploy 1
agent_setup "$SERIAL"
check() { tether-agent update check "$@" --config "$AGENT_DIR/tether-agent.conf"; }
M="$SRV/repo/metadata"
refused() {    # refused REASON WHAT ARGS...: the check fails, saying REASON
	_r=$1; _w=$2; shift 2
	if out=$(check "$@" 2>&1); then fail "$_w was accepted: $out"; fi
	expect_contains "$out" "refused ($_r)" "$_w is refused ($_r)"
}

if out=$(check 2>&1); then fail "a check passed with no repository: $out"; fi
expect_contains "$out" "publishes no repository yet" "with nothing published, the check says so"

head -c 5000 /dev/urandom >"$WORK/pump-2.1.raucb"
SHA=$(sha256sum "$WORK/pump-2.1.raucb" | cut -d' ' -f1)
repo_publish "$WORK/rm" "$WORK/pump-2.1.raucb"
out=$(check injector/pump-2.1.raucb 2>&1) || fail "update check: $out"
expect_contains "$out" "root 1 (first trusted now)" "the first root is trusted on first use, saying so"
expect_contains "$out" "sha256 $SHA" "the release's verified SHA-256"
expect_contains "$out" "component pump-fw 2.1" "its component and version"
expect_contains "$out" "counter 7" "its release counter"
expect_contains "$out" "hardware inj-a" "its hardware"
for f in root timestamp snapshot targets; do
	[ -s "$AGENT_DIR/state/tuf/$f.json" ] || fail "the device keeps no trusted $f"
done
expect_contains "$(grep update_checked "$AGENT_DIR/state/audit.log")" "root 1 timestamp" \
	"the device audits what it now trusts"
out=$(check 2>&1) || fail "a second check: $out"
expect_not_contains "$out" "first trusted now" "the kept root is used from then on"
pass "the device verifies the repository and a release, and keeps what it trusts"

refused not_found "a target no role lists" injector/pump-9.9.raucb
refused not_found "a target outside every delegation" scanner/ct-1.raucb

# Too few signatures: the served timestamp with its signature altered.
cp "$M/timestamp.json" "$WORK/ts.good"
jq -c '.signatures[0].sig |= (if startswith("0") then "1" else "0" end) + .[1:]' "$WORK/ts.good" >"$WORK/ts.bad"
cmp -s "$WORK/ts.good" "$WORK/ts.bad" && fail "the forged timestamp is the real one"
cp "$WORK/ts.bad" "$M/timestamp.json"
refused signatures "a timestamp with a forged signature"
cp "$WORK/ts.good" "$M/timestamp.json"

# Endless data: a timestamp past the client's 16 KiB bound.
{ head -c 20000 /dev/zero | tr '\0' ' '; cat "$WORK/ts.good"; } >"$M/timestamp.json"
refused endless_data "a timestamp of 20 KiB"
cp "$WORK/ts.good" "$M/timestamp.json"

# Rollback: a new release makes a new timestamp, which the device then
# trusts; the old timestamp served again is refused.
head -c 5000 /dev/urandom >"$WORK/pump-2.2.raucb"
tether repo add "$WORK/rm/R" "$WORK/pump-2.2.raucb" --role injector --name injector/pump-2.2.raucb \
	--product injector --hardware inj-a --component pump-fw --version 2.2 --counter 8 >/dev/null ||
	fail "repo add 2.2"
tether repo sign "$WORK/rm/R" injector --key "$WORK/rm/injector" || fail "sign 2.2"
tether-server repo publish "$WORK/rm/R" --dir "$SRV" >"$WORK/pub.out" 2>&1 || fail "publish 2.2: $(cat "$WORK/pub.out")"
wait_for 20 sh -c "! cmp -s '$WORK/ts.good' '$M/timestamp.json'" || fail "no new timestamp after the publication"
out=$(check injector/pump-2.2.raucb 2>&1) || fail "update check of 2.2: $out"
expect_contains "$out" "counter 8" "the new release is seen"
cp "$M/timestamp.json" "$WORK/ts.new"
cp "$WORK/ts.good" "$M/timestamp.json"
refused rollback "an older timestamp served again"
cp "$WORK/ts.new" "$M/timestamp.json"

# Freeze: two days on, the one-day timestamp has expired (the server, on
# real time, has not renewed it).
W=$(faketime_wrapper +2d)
# shellcheck disable=SC2086
out=$($W tether-agent update check --config "$AGENT_DIR/tether-agent.conf" 2>&1) &&
	fail "an expired timestamp was accepted: $out"
expect_contains "$out" "refused (freeze)" "an expired timestamp is refused (freeze)"

out=$(check 2>&1) || fail "the check after the attacks: $out"
pass "forged, oversized, replayed and expired metadata refused; the real repository still verifies"

trail=$(grep update_refused "$AGENT_DIR/state/audit.log")
for r in signatures endless_data rollback freeze not_found; do
	expect_contains "$trail" ": $r: " "the device audits the $r refusal"
done
tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device trail broken"

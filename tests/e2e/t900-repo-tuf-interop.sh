#!/bin/sh
# The software repository (issue 10, sections 1 and 2): a release manager
# makes the root, targets and a product family's keys with `tether repo
# keygen` (offline, never on the server), builds root and targets around
# the server's online snapshot and timestamp keys (`tether-server repo
# keys`), delegates injector/* to the injector family's release manager,
# who adds a release with its custom data and SBOM and signs it; the
# administrator publishes the folder (`tether-server repo publish`), and the
# running server signs snapshot and timestamp through its signer and serves
# the standard layout over HTTPS. tuf-js, an independent TUF client, then
# downloads and verifies the release, and refuses it once its bytes on the
# server are tampered with. Publication refuses what a client would: a
# family signing outside its paths, a rollback, the same version with other
# contents, a target whose bytes do not match, a root not signed by the
# previous root's keys; a key rotation signed by old and new passes.
. "$(dirname "$0")/lib.sh"

CLIENT="$TETHER_SRC/tests/interop/tuf/tuf-client.mjs"
command -v node >/dev/null 2>&1 || skip "node is missing (scripts/deps installs it)"
[ -d "$TETHER_SRC/tests/interop/tuf/node_modules/tuf-js" ] ||
	skip "tuf-js is not installed (scripts/deps: npm ci in tests/interop/tuf)"

# refused_publish FOLDER EXPECTED WHAT: publishing FOLDER is refused, saying EXPECTED.
refused_publish() {
	if tether-server repo publish "$1" --dir "$SRV" >"$WORK/pub.out" 2>&1; then
		fail "published although it should not be: $3"
	fi
	expect_contains "$(cat "$WORK/pub.out")" "$2" "$3"
}

deploy 1
RM="$WORK/rm"
mkdir -p "$RM/keys"
cd "$RM" || fail "no $RM"

# The server's online keys, whose public halves the administrator hands over.
tether-server repo keys --dir "$SRV" >"$WORK/keys.out" 2>"$WORK/keys.err" ||
	fail "repo keys: $(cat "$WORK/keys.err")"
SNAP_PUB=$(sed -n 1p "$WORK/keys.out")
TS_PUB=$(sed -n 2p "$WORK/keys.out")
[ -s "$SNAP_PUB" ] && [ -s "$TS_PUB" ] || fail "repo keys printed no key files: $(cat "$WORK/keys.out")"
perm=$(stat -c %a "$SRV/repo/keys/snapshot.key")
[ "$perm" = 600 ] || fail "the online snapshot key is $perm, not 600"

# Offline keys, made where they are used.
for k in root1 root2 targets injector scanner; do
	tether repo keygen "keys/$k" >/dev/null 2>"$WORK/keygen.err" || fail "keygen $k: $(cat "$WORK/keygen.err")"
done
[ "$(stat -c %a keys/root1)" = 600 ] || fail "a private key is not 0600"
if tether repo keygen keys/root1 2>"$WORK/keygen.err"; then fail "keygen overwrote a key"; fi
expect_contains "$(cat "$WORK/keygen.err")" "never overwritten" "keygen refuses to overwrite a key"

tether repo init R --root-key keys/root1.pub --targets-key keys/targets.pub \
	--snapshot-key "$SNAP_PUB" --timestamp-key "$TS_PUB" 2>"$WORK/init.err" ||
	fail "repo init: $(cat "$WORK/init.err")"
tether repo delegate R injector --key keys/injector.pub --paths 'injector/*' 2>/dev/null ||
	fail "repo delegate injector"
tether repo delegate R scanner --key keys/scanner.pub --paths 'scanner/*' 2>/dev/null ||
	fail "repo delegate scanner"
head -c 300000 /dev/urandom >"$WORK/pump-2.1.raucb"
printf '{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}\n' >"$WORK/sbom.json"
tether repo add R "$WORK/pump-2.1.raucb" --role injector --name injector/pump-2.1.raucb \
	--product injector --hardware inj-a,inj-b --component pump-fw --version 2.1 --counter 7 \
	--sbom "$WORK/sbom.json" >"$WORK/add.out" 2>&1 || fail "repo add: $(cat "$WORK/add.out")"
SHA=$(sha256sum "$WORK/pump-2.1.raucb" | cut -d' ' -f1)
expect_contains "$(cat "$WORK/add.out")" "$SHA" "repo add prints the target's SHA-256"
# A family signs inside its own paths only, and counters never go down.
if tether repo add R "$WORK/pump-2.1.raucb" --role injector --name scanner/x.raucb --product scanner \
	--hardware s --component ct --version 1 --counter 1 2>"$WORK/add.err"; then
	fail "the injector role added a scanner target"
fi
expect_contains "$(cat "$WORK/add.err")" "outside what injector may sign" "repo add keeps a family in its paths"
if tether repo add R "$WORK/pump-2.1.raucb" --role injector --name injector/old.raucb --product injector \
	--hardware inj-a --component pump-fw --version 2.0 --counter 6 2>"$WORK/add.err"; then
	fail "a lower release counter was taken"
fi
expect_contains "$(cat "$WORK/add.err")" "never goes down" "repo add refuses a lower release counter"

st=$(tether repo status R) || fail "repo status: $st"
expect_contains "$st" "unsigned" "repo status shows unsigned roles"
tether repo sign R root --key keys/root1 || fail "sign root"
tether repo sign R targets --key keys/targets || fail "sign targets"
tether repo sign R injector --key keys/injector || fail "sign injector"
tether repo sign R scanner --key keys/scanner || fail "sign scanner"
st=$(tether --json repo status R) || fail "repo status: $st"
[ "$(printf '%s' "$st" | jq -r '[.[] | .state] | unique | join(",")')" = ok ] ||
	fail "not every role verifies after signing: $st"
pass "tether repo: keys, root, targets, delegations and a release, each role verifying"

# Published by the administrator; the running server signs the online roles.
tether-server repo publish "$RM/R" --dir "$SRV" >"$WORK/pub.out" 2>&1 ||
	fail "repo publish: $(cat "$WORK/pub.out")"
wait_for 20 test -s "$SRV/repo/metadata/timestamp.json" ||
	fail "the server signed no timestamp: $(grep -i repo "$WORK/server.log" | tail -5)"
[ -f "$SRV/repo/targets/injector/$SHA.pump-2.1.raucb" ] || fail "the target is not kept under its hash"
audit=$(tether-server audit list --dir "$SRV" | grep repo_published) || fail "publication not audited"
expect_contains "$audit" "injector version 1" "the publication is audited with what it added"

tuf() {
	NODE_EXTRA_CA_CERTS="$SRV/ca/root.crt" node "$CLIENT" \
		--metadata-url "https://127.0.0.1:$SERVER_PORT/repo/metadata" \
		--targets-url "https://127.0.0.1:$SERVER_PORT/repo/targets" \
		--root "$RM/R/metadata/1.root.json" --cache "$1" --target "$2" --out "$3"
}
out=$(tuf "$WORK/cache1" injector/pump-2.1.raucb "$WORK/got.raucb") || fail "tuf-js refused the release: $out"
expect_contains "$out" "\"sha256\":\"$SHA\"" "tuf-js downloads and verifies the release"
cmp -s "$WORK/got.raucb" "$WORK/pump-2.1.raucb" || fail "tuf-js's copy differs"
out=$(tuf "$WORK/cache1" injector/pump-2.1.raucb.cdx.json "$WORK/sbom.got") || fail "tuf-js: the SBOM: $out"
cmp -s "$WORK/sbom.got" "$WORK/sbom.json" || fail "the SBOM differs"
pass "tuf-js (independent client) accepts the repository: root, timestamp, snapshot, targets, delegation, target, SBOM"

# A tampered target on the server: refused by the client.
cp "$SRV/repo/targets/injector/$SHA.pump-2.1.raucb" "$WORK/keep"
printf 'X' | dd of="$SRV/repo/targets/injector/$SHA.pump-2.1.raucb" bs=1 seek=1000 conv=notrunc 2>/dev/null
if out=$(tuf "$WORK/cache2" injector/pump-2.1.raucb "$WORK/bad.raucb"); then
	fail "tuf-js took a tampered release: $out"
fi
expect_contains "$out" "\"ok\":false" "tuf-js refuses the tampered release"
expect_contains "$out" "hash" "tuf-js says the hash does not match"
[ ! -e "$WORK/bad.raucb" ] || fail "the tampered release was written out"
# Publishing again puts the signed bytes back: a kept file is checked, not
# trusted for its name and size.
tether-server repo publish "$RM/R" --dir "$SRV" >"$WORK/pub.out" 2>&1 || fail "publish again: $(cat "$WORK/pub.out")"
cmp -s "$WORK/keep" "$SRV/repo/targets/injector/$SHA.pump-2.1.raucb" ||
	fail "publishing again left the tampered file in place"
pass "a tampered release is refused, and publishing again restores it"

# Publication refuses what a client would.
# The injector family signing a scanner path (its metadata edited by hand).
cp -r R R-bad
jq '.signed.targets["scanner/evil.raucb"] = .signed.targets["injector/pump-2.1.raucb"] | .signed.version = 2' \
	R-bad/metadata/injector.json >"$WORK/j" && mv "$WORK/j" R-bad/metadata/injector.json
mkdir -p R-bad/targets/scanner && cp "$WORK/pump-2.1.raucb" R-bad/targets/scanner/evil.raucb
tether repo sign R-bad injector --key keys/injector
refused_publish "$RM/R-bad" "outside the paths its delegation allows" "publish refuses a family signing outside its paths"
[ ! -e "$SRV/repo/metadata/2.injector.json" ] || fail "the refused role was served"
# A family delegating further: refused (only targets delegates).
rm -rf R-bad && cp -r R R-bad
jq '.signed.delegations = {"keys": {}, "roles": [{"name": "sub", "keyids": [], "threshold": 1, "paths": ["injector/x/*"], "terminating": true}]} | .signed.version = 2' \
	R-bad/metadata/injector.json >"$WORK/j" && mv "$WORK/j" R-bad/metadata/injector.json
tether repo sign R-bad injector --key keys/injector
refused_publish "$RM/R-bad" "delegates further" "publish refuses a family delegating further"
# Same version, other contents.
rm -rf R-bad && cp -r R R-bad
jq '.signed.targets["injector/pump-2.1.raucb"].custom.version = "9.9"' R-bad/metadata/injector.json >"$WORK/j" &&
	mv "$WORK/j" R-bad/metadata/injector.json
tether repo sign R-bad injector --key keys/injector
refused_publish "$RM/R-bad" "served already with other contents" "publish refuses a changed role without a new version"
# Bytes that do not match what the role signed.
rm -rf R-bad && cp -r R R-bad
head -c 100 /dev/urandom >"$WORK/new.raucb"
tether repo add R-bad "$WORK/new.raucb" --role injector --name injector/pump-2.2.raucb --product injector \
	--hardware inj-a --component pump-fw --version 2.2 --counter 8 >/dev/null
tether repo sign R-bad injector --key keys/injector
printf 'tampered' >>R-bad/targets/injector/pump-2.2.raucb
refused_publish "$RM/R-bad" "pump-2.2.raucb: longer than its declared length" "publish refuses a target whose bytes do not match"
# A rollback: an older targets version than the one served.
rm -rf R-bad && cp -r R R-old
tether repo add R "$WORK/new.raucb" --role injector --name injector/pump-2.2.raucb --product injector \
	--hardware inj-a --component pump-fw --version 2.2 --counter 8 >/dev/null
tether repo sign R injector --key keys/injector
tether-server repo publish "$RM/R" --dir "$SRV" >"$WORK/pub.out" 2>&1 || fail "publish v2: $(cat "$WORK/pub.out")"
# Served once the timestamp names a snapshot naming injector version 2.
wait_for 20 sh -c "jq -e '.signed.meta[\"injector.json\"].version == 2' \
	\"$SRV/repo/metadata/\$(jq -r '.signed.meta[\"snapshot.json\"].version' '$SRV/repo/metadata/timestamp.json').snapshot.json\"" ||
	fail "no snapshot names injector version 2: $(grep repository "$WORK/server.log" | tail -3)"
refused_publish "$RM/R-old" "rollback is refused" "publish refuses a rollback"
pass "publish refuses paths outside a delegation, a changed role without a new version, mismatching bytes and a rollback"

# Key rotation: root version 2 swaps root1 for root2. Signed by the new key
# alone it is refused; by the old and the new it passes, and a client that
# trusts root 1 follows it.
tether repo root R --root-key keys/root2.pub 2>/dev/null || fail "repo root"
tether repo sign R root --key keys/root2
st=$(tether repo status R)
expect_contains "$st" "needs the previous root's keys" "repo status says a rotated root needs the old keys too"
refused_publish "$RM/R" "not signed by the threshold of root version 1" "publish refuses a root not signed by the previous root's keys"
tether repo sign R root --key keys/root1
tether-server repo publish "$RM/R" --dir "$SRV" >"$WORK/pub.out" 2>&1 || fail "publish root 2: $(cat "$WORK/pub.out")"
[ -f "$SRV/repo/metadata/2.root.json" ] || fail "root version 2 is not served"
out=$(tuf "$WORK/cache1" injector/pump-2.2.raucb "$WORK/got2.raucb") || fail "tuf-js after the rotation: $out"
cmp -s "$WORK/got2.raucb" "$WORK/new.raucb" || fail "the new release differs"
pass "a root rotated with old and new keys is published and followed by tuf-js from root 1"

# A compromised key rotated out: root1, gone from root 2, cannot sign root 3;
# the targets key is rotated in root 3, after which the old one's signature
# on targets counts for nothing.
tether repo keygen keys/targets2 >/dev/null 2>&1 || fail "keygen targets2"
tether repo root R --targets-key keys/targets2.pub 2>/dev/null || fail "repo root 3"
tether repo sign R root --key keys/root1
refused_publish "$RM/R" "root version 3 is not signed by its own root keys' threshold" "the rotated-out root key alone cannot sign a new root"
tether repo sign R root --key keys/root2
tether repo add R "$WORK/new.raucb" --role injector --name injector/pump-2.3.raucb --product injector \
	--hardware inj-a --component pump-fw --version 2.3 --counter 9 >/dev/null
tether repo sign R injector --key keys/injector
tether repo delegate R injector --key keys/injector.pub --paths 'injector/*' 2>/dev/null
tether repo sign R targets --key keys/targets
refused_publish "$RM/R" "targets is not signed by the threshold of the targets keys" "the rotated-out targets key signs nothing any more"
tether repo sign R targets --key keys/targets2
tether-server repo publish "$RM/R" --dir "$SRV" >"$WORK/pub.out" 2>&1 || fail "publish root 3: $(cat "$WORK/pub.out")"
wait_for 20 sh -c "jq -e '.signed.meta[\"targets.json\"].version == 2' \
	\"$SRV/repo/metadata/\$(jq -r '.signed.meta[\"snapshot.json\"].version' '$SRV/repo/metadata/timestamp.json').snapshot.json\"" ||
	fail "no snapshot names targets version 2"
out=$(tuf "$WORK/cache1" injector/pump-2.3.raucb "$WORK/got4.raucb") || fail "tuf-js after the targets rotation: $out"
pass "compromised keys rotated out: neither the old root key nor the old targets key signs anything any more"

# Renewal: snapshot (7 days) and timestamp (1 day) are signed again once
# half their life is gone, also across a restart; not before.
ts_version() { jq -r '.signed.version' "$SRV/repo/metadata/timestamp.json"; }
snap_version() { jq -r '.signed.meta["snapshot.json"].version' "$SRV/repo/metadata/timestamp.json"; }
mtime_ns() { stat -c %.9Y "$1" | tr -d .; }
covered() { [ "$(mtime_ns "$SRV/repo/metadata/timestamp.json")" -ge "$(mtime_ns "$SRV/repo/metadata/.published")" ]; }
wait_for 20 covered || fail "no timestamp signed after the last publication"
ts0=$(ts_version); snap0=$(snap_version)
kill "$PID_server"
wait_for 15 sh -c "! kill -0 $PID_server" || fail "the server did not stop"
server_restart 2
sleep 3
[ "$(ts_version)" = "$ts0" ] || fail "a fresh timestamp was signed again at a restart ($ts0 -> $(ts_version))"
kill "$PID_server"
wait_for 15 sh -c "! kill -0 $PID_server" || fail "the server did not stop"
# shellcheck disable=SC2086
bg server-3 $(faketime_wrapper +4d) tether-server run --dir "$SRV"
PID_server=$PID_server_3
wait_port "$SERVER_PORT"
wait_for 20 sh -c "[ \$(jq -r '.signed.version' '$SRV/repo/metadata/timestamp.json') -gt $ts0 ]" ||
	fail "four days on, the timestamp was not renewed: $(grep repository "$WORK/server-3.log" | tail -3)"
[ "$(snap_version)" -gt "$snap0" ] || fail "four days on, the snapshot (3 days left) was not renewed"
exp=$(jq -r '.signed.expires' "$SRV/repo/metadata/timestamp.json")
[ "$(date -u -d "$exp" +%s)" -gt $(( $(date +%s) + 4 * 86400 )) ] ||
	fail "the renewed timestamp expires $exp, not a day past the server's clock"
out=$(tuf "$WORK/cache1" injector/pump-2.2.raucb "$WORK/got3.raucb") || fail "tuf-js after the renewal: $out"
pass "snapshot and timestamp are renewed once half their life is gone, not before"

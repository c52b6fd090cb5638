#!/bin/sh
# Fleet advisories (issue 10, section 6): an administrator imports OSV
# advisories from a file (`tether-server advisories import`, no network;
# a file with one bad advisory is refused whole), and `tether advisories`
# matches them against what the fleet runs: the component versions devices
# report, and the packages in the SBOM of the published release of each
# reported version. Each affected device is listed with its site and
# customer, how it was found, and the release that fixes it (or that no
# published release does); CSV and JSON too; the permission is
# advisories:view.
. "$(dirname "$0")/lib.sh"

ST="$WORK/status"
mkdir -p "$ST"
chmod 755 "$ST"
cat >"$ST/cmd" <<'CMD'
#!/bin/sh
echo '{"health": "ok", "errors": [], "versions": {"pump-fw": "2.1", "boot": "3.0"}}'
CMD
chmod 755 "$ST/cmd"

deploy 1
AGENT_EXTRA_CONF="status.command = $ST/cmd
status.interval_s = 10"
agent_setup "$SERIAL"
cli_login
wait_online
add_user ada administrator 1 US
login_user ada
as_ada() { TETHER_HOME="$WORK/home-ada" tether "$@"; }
wait_for 30 sh -c "TETHER_HOME='$WORK/home-ada' tether devices show '$SERIAL' | grep -q 'pump-fw 2.1'" ||
	fail "the device's versions never arrived: $(as_ada devices show "$SERIAL")"

# Two releases of pump-fw, each with its SBOM, published.
RM="$WORK/rm"
mkdir -p "$RM"
cd "$RM" || fail "no $RM"
for k in root targets injector; do tether repo keygen "$k" >/dev/null 2>&1 || fail "keygen $k"; done
tether repo init R --root-key root.pub --targets-key targets.pub \
	--snapshot-key "$SRV/repo/keys/snapshot.pub" --timestamp-key "$SRV/repo/keys/timestamp.pub" 2>/dev/null ||
	fail "repo init"
tether repo delegate R injector --key injector.pub --paths 'injector/*' 2>/dev/null || fail "repo delegate"
sbom() {
	printf '{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"libfoo","version":"%s"},{"type":"library","name":"zlib","version":"1.3"}]}\n' "$1"
}
sbom 1.0.2 >"$WORK/sbom-2.1.json"
sbom 1.0.5 >"$WORK/sbom-2.2.json"
head -c 1000 /dev/urandom >"$WORK/fw-2.1"
head -c 1000 /dev/urandom >"$WORK/fw-2.2"
tether repo add R "$WORK/fw-2.1" --role injector --name injector/pump-2.1.raucb --product injector \
	--hardware inj-a --component pump-fw --version 2.1 --counter 7 --sbom "$WORK/sbom-2.1.json" >/dev/null ||
	fail "repo add 2.1"
tether repo add R "$WORK/fw-2.2" --role injector --name injector/pump-2.2.raucb --product injector \
	--hardware inj-a --component pump-fw --version 2.2 --counter 8 --sbom "$WORK/sbom-2.2.json" >/dev/null ||
	fail "repo add 2.2"
tether repo sign R root --key root && tether repo sign R targets --key targets &&
	tether repo sign R injector --key injector || fail "repo sign"
tether-server repo publish "$RM/R" --dir "$SRV" >"$WORK/pub.out" 2>&1 || fail "publish: $(cat "$WORK/pub.out")"
wait_for 20 test -s "$SRV/repo/metadata/timestamp.json" || fail "the repository was not signed"

# Advisories, one per line: pump-fw below 2.2 (the device's 2.1), libfoo
# below 1.0.5 (in 2.1's SBOM), zlib below 1.3.1 (in both SBOMs: no
# published fix), boot below 2.0 (the device runs 3.0: not affected).
cat >"$WORK/osv.jsonl" <<'OSV'
{"id": "TETHER-2026-0001", "summary": "pump firmware accepts an unsigned bolus table", "modified": "2026-11-30T00:00:00Z", "affected": [{"package": {"name": "pump-fw", "ecosystem": "tether"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.2"}]}]}]}
{"id": "CVE-2026-1111", "summary": "libfoo heap overflow", "affected": [{"package": {"name": "libfoo"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.0.5"}]}]}]}
{"id": "CVE-2026-2222", "summary": "zlib window bug", "affected": [{"package": {"name": "zlib"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.3.1"}]}]}]}
{"id": "CVE-2026-3333", "summary": "old bootloader", "affected": [{"package": {"name": "boot"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]}
OSV
# One bad advisory in a file: nothing of it is imported.
printf '%s\n' '{"id": "GOOD-1", "affected": [{"package": {"name": "pump-fw"}, "versions": ["2.1"]}]}' \
	'{"id": "BAD-1", "affected": [{"package": {"name": "x"}, "ranges": [{"type": "SEMVER", "events": [{"patched": "1"}]}]}]}' \
	>"$WORK/bad.jsonl"
if tether-server advisories import "$WORK/bad.jsonl" --dir "$SRV" >"$WORK/imp.out" 2>&1; then
	fail "a file with a bad advisory was imported"
fi
expect_contains "$(cat "$WORK/imp.out")" "advisory 2: unknown range event patched; nothing imported" \
	"a bad advisory is refused, naming it, and nothing is imported"
tether-server advisories import "$WORK/osv.jsonl" --dir "$SRV" >"$WORK/imp.out" 2>&1 ||
	fail "advisories import: $(cat "$WORK/imp.out")"
expect_contains "$(cat "$WORK/imp.out")" "4 advisories imported" "the advisories are imported"
expect_contains "$(tether-server audit list --dir "$SRV" | grep advisories_imported)" '"count":4' \
	"the import is audited"

out=$(as_ada advisories) || fail "tether advisories: $out"
row() { printf '%s\n' "$out" | grep "^$1 "; }
expect_contains "$(row TETHER-2026-0001)" "pump-fw" "the reported pump-fw version is matched"
expect_contains "$(row TETHER-2026-0001)" "reported" "found by the reported version"
expect_contains "$(row TETHER-2026-0001)" "injector/pump-2.2.raucb" "fixed by the published 2.2"
expect_contains "$(row CVE-2026-1111)" "libfoo" "a package in the release's SBOM is matched"
expect_contains "$(row CVE-2026-1111)" "sbom of pump-fw 2.1" "found through the SBOM of the release the device runs"
expect_contains "$(row CVE-2026-1111)" "injector/pump-2.2.raucb" "fixed by the release whose SBOM has libfoo 1.0.5"
expect_contains "$(row CVE-2026-2222)" "(fix not published)" "a fix no published release carries is said so"
expect_not_contains "$out" "CVE-2026-3333" "a version outside the range is not listed"
expect_contains "$(row TETHER-2026-0001)" "$SITE" "each row names the site"
pass "tether advisories lists the affected device per advisory, how it was found and the fixing release"

csv=$(as_ada advisories --format csv) || fail "csv: $csv"
expect_contains "$(printf '%s\n' "$csv" | head -1)" '"advisory","package","version","customer","site","device","via","fixed_version","fixed_by","summary"' \
	"the CSV has its header"
expect_contains "$csv" '"CVE-2026-1111","libfoo","1.0.2","St Example Hospital","'"$SITE"'","'"$SERIAL"'","sbom of pump-fw 2.1","1.0.5","injector/pump-2.2.raucb","libfoo heap overflow"' \
	"a CSV row carries the customer, site, device, fix and summary"
n=$(as_ada advisories --format json | jq '.affected | length') || fail "json"
[ "$n" = 3 ] || fail "the JSON lists $n affected rows, not 3"
pass "CSV and JSON for the postmarket process"

# advisories:view: an administrator, release manager or auditor; not a specialist.
if tether advisories >"$WORK/spec.out" 2>&1; then fail "a specialist read the advisories"; fi
expect_contains "$(cat "$WORK/spec.out")" "advisories:view" "a specialist is refused, naming the permission"

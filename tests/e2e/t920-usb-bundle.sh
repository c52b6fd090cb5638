#!/bin/sh
# Offline installs from a USB bundle (issue 10, sections 4 and 7):
# `tether-server repo bundle` packs the served metadata and one release;
# `tether-agent install BUNDLE` on a device with no network (its config
# points at a closed port) checks it with the same TUF client against the
# root the device trusts and installs it. Refused: a tampered release
# (arbitrary_software), a forged signature (signatures), a lower release
# counter (rollback), a malformed archive, a bundle with no release; a
# bundle whose timestamp has expired only with --accept-expired and a
# reason. Every install is audited on the device with who ran it, and
# reported to the server at the next ping (device_offline_install).
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/out" "$WORK/usb"
cat >"$D/installer" <<SH
#!/bin/sh
cp "\$1" "$D/out/current"
echo "\$(sha256sum "\$1" | cut -d' ' -f1)" >>"$D/out/installs"
SH
chmod 755 "$D/installer"
count() { grep -c . "$1" 2>/dev/null || true; }

deploy 1
# Held pings end within 5 s: the next ping, which carries the reports, soon.
set_server_conf longpoll_s 5
restart_server
AGENT_EXTRA_CONF="hardware = inj-a
install.command = $D/installer {}"
agent_setup "$SERIAL"
cli_login
wait_online
CONF="$AGENT_DIR/tether-agent.conf"
# The same device without a network: its server is a port nobody serves.
sed "s|^server *=.*|server = https://127.0.0.1:$(free_port)|" "$CONF" >"$AGENT_DIR/offline.conf"
OFF="$AGENT_DIR/offline.conf"
audit() { grep "$1" "$AGENT_DIR/state/audit.log" || true; }

head -c 5000 /dev/urandom >"$WORK/pump-2.1.raucb"
repo_publish "$WORK/rm" "$WORK/pump-2.1.raucb"
# A stick never brings the first root: the device must have trusted the
# server's repository once.
tether-server repo bundle injector/pump-2.1.raucb --output "$WORK/usb/first.bundle" --dir "$SRV" \
	>/dev/null 2>&1 || fail "repo bundle 2.1"
if out=$(tether-agent install "$WORK/usb/first.bundle" --config "$OFF" 2>&1); then
	fail "a bundle was installed on a device that trusts no root: $out"
fi
expect_contains "$out" "never from a bundle" "a bundle cannot bring the first root"
tether-agent update check --config "$CONF" >/dev/null 2>&1 || fail "update check"

release() { repo_release "$WORK/rm" "$@"; }   # FILE NAME VERSION COUNTER
bundle() {     # bundle TARGET FILE
	tether-server repo bundle "$1" --output "$2" --dir "$SRV" >"$WORK/bundle.out" 2>&1 ||
		fail "repo bundle $1: $(cat "$WORK/bundle.out")"
}

# --- a release installed offline, reported at the next ping ---------------------
head -c 7000 /dev/urandom >"$WORK/pump-2.2.raucb"
release "$WORK/pump-2.2.raucb" pump-2.2.raucb 2.2 8
bundle injector/pump-2.2.raucb "$WORK/usb/pump-2.2.bundle"
expect_contains "$(cat "$WORK/bundle.out")" "injector/pump-2.2.raucb (7000 bytes" "the bundle says what it carries"
tar -tf "$WORK/usb/pump-2.2.bundle" >"$WORK/tar.list" 2>&1 || fail "the bundle is no tar archive: $(cat "$WORK/tar.list")"
expect_contains "$(cat "$WORK/tar.list")" "metadata/1.root.json" "the bundle carries the roots (tar reads it)"
if out=$(tether-server repo bundle injector/pump-2.2.raucb --output "$WORK/usb/pump-2.2.bundle" \
	--dir "$SRV" 2>&1); then fail "a bundle was written over an existing file"; fi
out=$(tether-agent install "$WORK/usb/pump-2.2.bundle" --config "$OFF" 2>&1) ||
	fail "offline install of 2.2: $out"
expect_contains "$out" "installed pump-fw 2.2 (release counter 8)" "the release is installed offline"
cmp -s "$D/out/current" "$WORK/pump-2.2.raucb" || fail "the installer did not get the release's bytes"
[ "$(jq -r '."pump-fw".version' "$AGENT_DIR/state/tuf/installed.json")" = 2.2 ] ||
	fail "installed.json: $(cat "$AGENT_DIR/state/tuf/installed.json")"
expect_contains "$(audit update_installed)" "offline bundle $WORK/usb/pump-2.2.bundle: pump-fw 2.2" \
	"the offline install is audited on the device"
expect_contains "$(audit update_installed)" "by root" "with who ran it"
wait_for 60 sh -c "tether-server audit list --dir '$SRV' | grep device_offline_install | grep -q pump-2.2" ||
	fail "the server never heard of the offline install"
wait_for 30 sh -c "tether devices show '$SERIAL' | grep -q 'pump-fw 2.2'" ||
	fail "the new version was not reported: $(tether devices show "$SERIAL")"
pass "a bundle installs offline, audited on the device and reported at the next ping"

# --- refusals -------------------------------------------------------------------------
refused() {    # refused BUNDLE NEEDLE WHAT
	_n=$(count "$D/out/installs")
	if out=$(tether-agent install "$1" --config "$OFF" 2>&1); then fail "$3 was installed: $out"; fi
	expect_contains "$out" "$2" "$3 is refused"
	[ "$(count "$D/out/installs")" = "$_n" ] || fail "$3 reached the installer"
}
head -c 6000 /dev/urandom >"$WORK/pump-2.3.raucb"
release "$WORK/pump-2.3.raucb" pump-2.3.raucb 2.3 9
bundle injector/pump-2.3.raucb "$WORK/usb/pump-2.3.bundle"
# The release's bytes: the last entry, just before the two end blocks.
size=$(stat -c %s "$WORK/usb/pump-2.3.bundle")
cp "$WORK/usb/pump-2.3.bundle" "$WORK/usb/tampered.bundle"
printf 'X' | dd of="$WORK/usb/tampered.bundle" bs=1 seek=$((size - 1024 - 2000)) conv=notrunc 2>/dev/null
refused "$WORK/usb/tampered.bundle" "refused (arbitrary_software)" "a bundle with tampered bytes"
mkdir -p "$WORK/x" && (cd "$WORK/x" && tar -xf "$WORK/usb/pump-2.3.bundle") || fail "tar -x"
jq -c '.signatures[0].sig |= (if startswith("0") then "1" else "0" end) + .[1:]' \
	"$WORK/x/metadata/timestamp.json" >"$WORK/ts.bad" && cp "$WORK/ts.bad" "$WORK/x/metadata/timestamp.json"
(cd "$WORK/x" && tar --format=ustar -cf "$WORK/usb/forged.bundle" metadata targets) || fail "tar -c"
refused "$WORK/usb/forged.bundle" "refused (signatures)" "a bundle with a forged timestamp signature"
bundle injector/pump-2.1.raucb "$WORK/usb/old.bundle"
refused "$WORK/usb/old.bundle" "refused (rollback)" "a bundle of an older release counter"
head -c 3000 "$WORK/usb/pump-2.3.bundle" >"$WORK/usb/cut.bundle"
refused "$WORK/usb/cut.bundle" "not a bundle this agent takes" "a truncated bundle"
(cd "$WORK/x" && tar --format=ustar -cf "$WORK/usb/empty.bundle" metadata) || fail "tar -c"
refused "$WORK/usb/empty.bundle" "exactly one release" "a bundle without a release"
ln -s /etc/passwd "$WORK/x/metadata/9.root.json"
(cd "$WORK/x" && tar --format=ustar -cf "$WORK/usb/link.bundle" metadata targets) || fail "tar -c"
refused "$WORK/usb/link.bundle" "only files and folders" "a bundle with a symbolic link"
trail=$(audit update_refused)
for r in arbitrary_software signatures rollback; do
	expect_contains "$trail" ": $r: " "the device audits the $r refusal"
done
pass "tampered bytes, a forged signature, an older release and malformed bundles are refused"

# --- the freshness rule: an expired timestamp needs the operator's word ------------
W=$(faketime_wrapper +3d)
# shellcheck disable=SC2086
if out=$($W tether-agent install "$WORK/usb/pump-2.3.bundle" --config "$OFF" 2>&1); then
	fail "a bundle past its timestamp was installed without confirmation: $out"
fi
expect_contains "$out" "refused (freeze)" "an expired bundle is refused by default"
expect_contains "$out" "--accept-expired --reason" "the refusal says how the operator confirms it"
# shellcheck disable=SC2086
if out=$($W tether-agent install "$WORK/usb/pump-2.3.bundle" --config "$OFF" --accept-expired 2>&1); then
	fail "--accept-expired without a reason was taken: $out"
fi
expect_contains "$out" "needs --reason" "accepting an expired bundle needs a reason"
# shellcheck disable=SC2086
out=$($W tether-agent install "$WORK/usb/pump-2.3.bundle" --config "$OFF" --accept-expired \
	--reason "CR-88 ward 3 has no network" 2>&1) || fail "confirmed offline install: $out"
expect_contains "$out" "installed pump-fw 2.3" "the operator's confirmation installs it"
expect_contains "$(audit update_installed | tail -1)" "expired timestamp accepted: CR-88 ward 3 has no network" \
	"the confirmation and its reason are audited"
# Rollback protection still holds for a confirmed bundle.
# shellcheck disable=SC2086
if out=$($W tether-agent install "$WORK/usb/pump-2.2.bundle" --config "$OFF" --accept-expired \
	--reason "try" 2>&1); then fail "an older bundle was installed with --accept-expired: $out"; fi
expect_contains "$out" "refused (rollback)" "rollback protection holds for a confirmed bundle"
wait_for 60 sh -c "tether-server audit list --dir '$SRV' | grep device_offline_install | grep pump-2.3 | grep -q 'CR-88'" ||
	fail "the server never heard of the confirmed install"
pass "an expired bundle installs only with the operator's confirmation, audited on both sides"

# A malformed report does not cost the device its ping: left out, audited.
code=$(curl -s -o "$WORK/ping.out" -w '%{http_code}' --cacert "$SRV/ca/root.crt" \
	--cert "$AGENT_DIR/state/device.crt" --key "$AGENT_DIR/state/device.key" \
	-H 'Content-Type: application/json' \
	--data '{"version":"0.1.0","status":"ok","wait":false,"services":[],"offline_installs":[{"target":"../x"}]}' \
	"https://127.0.0.1:$SERVER_PORT/api/v1/ping")
[ "$code" = 200 ] || fail "a ping with a malformed offline report got $code: $(cat "$WORK/ping.out")"
audit_has device_offline_install_refused "$SERIAL" "a malformed offline report is left out"

tether-agent audit verify --config "$CONF" >/dev/null || fail "device trail broken"
tether-server audit verify --dir "$SRV" >/dev/null || fail "server trail broken"

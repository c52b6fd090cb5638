#!/bin/sh
# Installing a release through the maintenance queue (issue 10, sections 3
# and 7): `tether queue add install TARGET` by a release manager; the
# device's update worker verifies the target with its TUF client, judges it
# against the device (component, hardware, release counter), downloads it
# resumably (HTTP Range, download_rate) and checks its length and SHA-256;
# the monitor runs install.command on its own copy, then install.health,
# and install.rollback when either fails; the installed version is
# reported in the device's status. Refused, each with its reason in the
# activity and the device's audit trail: the wrong hardware, a release
# counter below the installed one (rollback), bytes that are not the signed
# ones (arbitrary software) and more bytes than declared (endless data).
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/out"
# The product's installer: notes what it installed, as whom; fails on cue.
cat >"$D/installer" <<SH
#!/bin/sh
[ -e "$D/fail-install" ] && { echo "installer: bundle rejected"; exit 4; }
echo "\$(sha256sum "\$1" | cut -d' ' -f1) \$1 as \$(id -un)" >>"$D/out/installs"
cp "\$1" "$D/out/current"
echo "installer: done"
SH
cat >"$D/health" <<SH
#!/bin/sh
[ -e "$D/fail-health" ] && { echo "health: pump controller does not answer"; exit 5; }
echo "health: ok"
SH
cat >"$D/rollback" <<SH
#!/bin/sh
echo rolled back >>"$D/out/rollbacks"
echo "rollback: previous slot active"
SH
chmod 755 "$D/installer" "$D/health" "$D/rollback"
count() { grep -c . "$1" 2>/dev/null || true; }

deploy 1
# Held pings end within 5 s, so a publication is noticed soon.
set_server_conf longpoll_s 5
restart_server
AGENT_EXTRA_CONF="hardware = inj-a
download_rate = 1M
install.command = $D/installer {}
install.health = $D/health
install.rollback = $D/rollback"
agent_setup "$SERIAL"
AGENT_STATE="$AGENT_DIR/state"
cli_login
wait_online
add_user rel release_manager 1 US
login_user rel
rm_cli() { TETHER_HOME="$WORK/home-rel" tether "$@"; }
install() {    # install TARGET: queue it for the device; prints the id
	rm_cli queue add install "$1" "$SERIAL" --reason "REL-7 field update" | awk 'NR == 2 { print $1 }'
}
state() { rm_cli --json queue show "$1" | jq -r .state; }
ended() { _s=$(state "$1"); [ "$_s" = "$2" ]; }
wait_end() {   # wait_end ID STATE [SECONDS]
	wait_for "${3:-60}" ended "$1" "$2" ||
		fail "activity $1 is $(state "$1"), not $2: $(rm_cli queue show "$1" | tail -20)"
}
why() { rm_cli --json queue show "$1" | jq -r .why; }
audit() { grep "$1" "$AGENT_DIR/state/audit.log" || true; }
# release FILE NAME VERSION COUNTER [HARDWARE]: add, sign, publish
release() { repo_release "$WORK/rm" "$@"; }   # FILE NAME VERSION COUNTER [HARDWARE]
served() { find "$SRV/repo/targets/injector" -name "*.$1"; }

# --- a release installed, its version reported ----------------------------------
head -c 5000 /dev/urandom >"$WORK/pump-2.1.raucb"
repo_publish "$WORK/rm" "$WORK/pump-2.1.raucb"
# The ping says which timestamp the device trusts (none yet); the answer
# names the one served, and the agent refreshes its metadata by itself.
wait_for 30 test -s "$AGENT_STATE/tuf/timestamp.json" ||
	fail "the device did not notice the publication: $(grep update "$WORK/agent.log" | tail -5)"
expect_contains "$(grep 'repository serves timestamp' "$WORK/agent.log")" "refreshing" \
	"the ping's answer made the agent refresh"
expect_contains "$(audit update_checked)" "root 1 timestamp" "the refresh is audited on the device"
pass "a publication is noticed through the ping"
if out=$(tether queue add install injector/pump-2.1.raucb "$SERIAL" --reason x 2>&1); then
	fail "a specialist without software:install queued an install: $out"
fi
expect_contains "$out" "software:install" "queueing an install needs software:install"
if out=$(rm_cli queue add install injector/pump-9.raucb "$SERIAL" --reason x 2>&1); then
	fail "an install of an unpublished target was queued: $out"
fi
expect_contains "$out" "publishes no release injector/pump-9.raucb" "an unknown target is refused at once"
id=$(install injector/pump-2.1.raucb) || fail "queue add install"
[ -n "$id" ] || fail "queue add install printed no id"
expect_contains "$(rm_cli queue show "$id")" "pump-fw" "the activity names the release's component"
wait_end "$id" done
expect_contains "$(why "$id")" "installed pump-fw 2.1 (release counter 7)" "the result says what was installed"
cmp -s "$D/out/current" "$WORK/pump-2.1.raucb" || fail "the installer did not get the release's bytes"
expect_contains "$(cat "$D/out/installs")" "$AGENT_STATE-install/" "the installer reads the monitor's copy"
[ -z "$(ls -A "$AGENT_STATE-install")" ] || fail "the installer's copy was left behind: $(ls "$AGENT_STATE-install")"
out=$(rm_cli queue show "$id")
expect_contains "$out" "health: ok" "the health check ran and its output is kept"
expect_contains "$out" "staged " "the worker's output is kept"
[ "$(jq -r '."pump-fw".version' "$AGENT_STATE/tuf/installed.json")" = 2.1 ] ||
	fail "installed.json: $(cat "$AGENT_STATE/tuf/installed.json")"
wait_for 30 sh -c "tether devices show '$SERIAL' | grep -q 'pump-fw 2.1'" ||
	fail "the installed version was not reported: $(tether devices show "$SERIAL")"
expect_contains "$(audit update_downloaded)" "injector/pump-2.1.raucb: 5000 bytes" "the download is audited on the device"
expect_contains "$(audit update_installed)" "pump-fw 2.1 (release counter 7)" "the install is audited on the device"
pass "a release is downloaded, checked, installed and reported"

id=$(install injector/pump-2.1.raucb)
wait_end "$id" done
expect_contains "$(why "$id")" "installed already" "the same release again installs nothing"
[ "$(count "$D/out/installs")" = 1 ] || fail "the installer ran again: $(cat "$D/out/installs")"

# --- a failed install and a failed health check are rolled back -----------------
head -c 6000 /dev/urandom >"$WORK/pump-2.2.raucb"
release "$WORK/pump-2.2.raucb" pump-2.2.raucb 2.2 8
touch "$D/fail-install"
id=$(install injector/pump-2.2.raucb)
wait_end "$id" failed
out=$(why "$id")
expect_contains "$out" "the installer failed (exit status 4); rolled back" "a failed installer is rolled back"
expect_contains "$out" "stays on 2.1" "the device stays on its version"
[ "$(count "$D/out/rollbacks")" = 1 ] || fail "install.rollback did not run"
expect_contains "$(rm_cli queue show "$id")" "bundle rejected" "the installer's output is kept"
rm "$D/fail-install"
touch "$D/fail-health"
id=$(install injector/pump-2.2.raucb)
wait_end "$id" failed
expect_contains "$(why "$id")" "the health check failed (exit status 5); rolled back" "a failed health check is rolled back"
[ "$(count "$D/out/rollbacks")" = 2 ] || fail "install.rollback did not run after the health check"
[ "$(jq -r '."pump-fw".version' "$AGENT_STATE/tuf/installed.json")" = 2.1 ] ||
	fail "a rolled-back release was noted as installed"
expect_contains "$(tether devices show "$SERIAL")" "pump-fw 2.1" "the device still reports 2.1"
expect_contains "$(audit update_rolled_back)" "install.rollback exit status 0" "the rollback is audited"
rm "$D/fail-health"
pass "a failed install or health check is rolled back, the device left on 2.1"

# --- a download interrupted (the server restarted) and resumed -------------------
head -c $((6 * 1024 * 1024)) /dev/urandom >"$WORK/pump-2.3.raucb"
release "$WORK/pump-2.3.raucb" pump-2.3.raucb 2.3 9
id=$(install injector/pump-2.3.raucb)
part_grown() { _p=$(find "$AGENT_STATE/tuf/download" -name '*.part' -size +1024k 2>/dev/null | head -1); [ -n "$_p" ]; }
wait_for 30 part_grown || fail "the download never got past 1 MiB"
sigkill_wait "$PID_server"
sleep 1
server_restart 3
wait_end "$id" done 90
out=$(rm_cli queue show "$id")
expect_contains "$out" "try 1 of 5" "the broken download is said"
grep -q "/repo/targets/injector/.*pump-2.3.raucb 206 " "$WORK/server-3.log" ||
	fail "the download was not resumed with a range: $(grep repo/targets "$WORK/server-3.log" | tail -3)"
cmp -s "$D/out/current" "$WORK/pump-2.3.raucb" || fail "the resumed download is not the release"
pass "an interrupted download resumes where it broke off (206) and installs"

# --- refusals -------------------------------------------------------------------------
refused() {    # refused TARGET REASON WHAT
	_id=$(install "$1")
	wait_end "$_id" refused_by_device
	expect_contains "$(why "$_id")" "refused ($2)" "$3 is refused ($2)"
	expect_contains "$(audit update_refused | tail -1)" "$1: $2" "the refusal is audited on the device"
}
n=$(count "$D/out/installs")
head -c 5000 /dev/urandom >"$WORK/pump-2.4b.raucb"
release "$WORK/pump-2.4b.raucb" pump-2.4b.raucb 2.4 10 inj-b
refused injector/pump-2.4b.raucb wrong_hardware "a release for other hardware"
refused injector/pump-2.2.raucb rollback "a release counter below the installed one"
head -c 7000 /dev/urandom >"$WORK/pump-2.5.raucb"
release "$WORK/pump-2.5.raucb" pump-2.5.raucb 2.5 11
f=$(served pump-2.5.raucb)
cp "$f" "$WORK/good-2.5"
head -c 7000 /dev/urandom >"$f"
refused injector/pump-2.5.raucb arbitrary_software "bytes other than the signed ones"
cat "$WORK/good-2.5" /dev/zero 2>/dev/null | head -c 9000 >"$f"
refused injector/pump-2.5.raucb endless_data "more bytes than declared"
[ "$(count "$D/out/installs")" = "$n" ] || fail "a refused release reached the installer"
left=$(find "$AGENT_STATE/tuf/staged" "$AGENT_STATE/tuf/download" -type f)
[ -z "$left" ] || fail "refused bytes were kept: $left"
cp "$WORK/good-2.5" "$f"
id=$(install injector/pump-2.5.raucb)
wait_end "$id" done
expect_contains "$(why "$id")" "installed pump-fw 2.5" "the right bytes then install"
pass "wrong hardware, a lower release counter, other bytes and more bytes are refused"

tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null || fail "device trail broken"
tether-server audit verify --dir "$SRV" >/dev/null || fail "server trail broken"

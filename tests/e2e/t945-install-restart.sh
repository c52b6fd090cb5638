#!/bin/sh
# The health check after a restart the installer needed (issue 10, section
# 3): with install.restart in agent.conf, the agent runs it after
# install.command, keeps a note, and the agent that starts after the
# restart runs install.health for the same activity: done when healthy,
# else install.rollback and failed. A device that does not restart within
# install.restart_timeout_s, or whose install.restart fails, is rolled back.
# The restart here is the agent stopped and started again, as a reboot
# does to it.
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/out"
cat >"$D/installer" <<SH
#!/bin/sh
cp "\$1" "$D/out/next-slot"
echo "installer: written to the other slot; it boots at the next restart"
SH
cat >"$D/restart" <<SH
#!/bin/sh
[ -e "$D/fail-restart" ] && { echo "restart: refused by the bootloader"; exit 3; }
echo requested >>"$D/out/restarts"
echo "restart: requested"
SH
cat >"$D/health" <<SH
#!/bin/sh
[ -e "$D/fail-health" ] && { echo "health: pump controller does not answer after boot"; exit 5; }
echo "health: ok after boot"
SH
cat >"$D/rollback" <<SH
#!/bin/sh
echo rolled back >>"$D/out/rollbacks"
echo "rollback: previous slot marked active"
SH
chmod 755 "$D/installer" "$D/restart" "$D/health" "$D/rollback"
count() { grep -c . "$1" 2>/dev/null || true; }

deploy 1
set_server_conf longpoll_s 5
restart_server
AGENT_EXTRA_CONF="hardware = inj-a
install.command = $D/installer {}
install.health = $D/health
install.rollback = $D/rollback
install.restart = $D/restart
install.restart_timeout_s = 10"
agent_setup "$SERIAL"
AGENT_STATE="$AGENT_DIR/state"
cli_login
wait_online
add_user rel release_manager 1 US
login_user rel
rm_cli() { TETHER_HOME="$WORK/home-rel" tether "$@"; }
install() { rm_cli queue add install "$1" "$SERIAL" --reason "REL-9 slot update" | awk 'NR == 2 { print $1 }'; }
state() { rm_cli --json queue show "$1" | jq -r .state; }
ended() { _s=$(state "$1"); [ "$_s" = "$2" ]; }
wait_end() {
	wait_for "${3:-60}" ended "$1" "$2" ||
		fail "activity $1 is $(state "$1"), not $2: $(rm_cli queue show "$1" | tail -20)"
}
why() { rm_cli --json queue show "$1" | jq -r .why; }
audit() { grep "$1" "$AGENT_STATE/audit.log" || true; }
restarts_are() { [ "$(count "$D/out/restarts")" = "$1" ]; }
NOTE="$AGENT_STATE/tuf/restart-pending.json"

# --- installed, restarted, healthy -----------------------------------------------
head -c 4000 /dev/urandom >"$WORK/pump-2.1.raucb"
repo_publish "$WORK/rm" "$WORK/pump-2.1.raucb"
wait_for 30 test -s "$AGENT_STATE/tuf/timestamp.json" || fail "the device did not notice the publication"
id=$(install injector/pump-2.1.raucb)
[ -n "$id" ] || fail "queue add install printed no id"
wait_for 60 restarts_are 1 || fail "install.restart did not run: $(rm_cli queue show "$id" | tail -10)"
test -s "$NOTE" || fail "no note was kept for the health check after the restart"
sleep 1
[ "$(state "$id")" = running ] || fail "the install ended before the restart: $(state "$id"): $(why "$id")"
[ "$(jq -r '."pump-fw".version // "none"' "$AGENT_STATE/tuf/installed.json" 2>/dev/null || echo none)" = none ] ||
	fail "the release was noted installed before its health check"
pass "install.restart runs after the installer; the activity waits for the restart"
restart_agent
wait_end "$id" done
expect_contains "$(why "$id")" "installed pump-fw 2.1 (release counter 7)" "the install is done after the restart"
out=$(rm_cli queue show "$id")
expect_contains "$out" "written to the other slot" "the installer's output, from before the restart, is kept"
expect_contains "$out" "health: ok after boot" "the health check after the restart ran"
[ "$(jq -r '."pump-fw".version' "$AGENT_STATE/tuf/installed.json")" = 2.1 ] ||
	fail "installed.json: $(cat "$AGENT_STATE/tuf/installed.json")"
[ ! -e "$NOTE" ] || fail "the note was left behind"
expect_contains "$(audit update_restart)" "install.restart ran" "the restart is audited on the device"
expect_contains "$(audit update_restarted)" "install.health runs" "the start after it is audited"
expect_not_contains "$(rm_cli queue show "$id")" "interrupted" "the install is not taken for interrupted"
wait_for 30 sh -c "tether devices show '$SERIAL' | grep -q 'pump-fw 2.1'" ||
	fail "the installed version was not reported"
pass "the health check after the restart confirms the install"

# --- unhealthy after the restart: rolled back --------------------------------------
head -c 4000 /dev/urandom >"$WORK/pump-2.2.raucb"
repo_release "$WORK/rm" "$WORK/pump-2.2.raucb" pump-2.2.raucb 2.2 8
touch "$D/fail-health"
id=$(install injector/pump-2.2.raucb)
wait_for 60 restarts_are 2 || fail "install.restart did not run for 2.2"
restart_agent
wait_end "$id" failed
out=$(why "$id")
expect_contains "$out" "the health check after the restart failed (exit status 5); rolled back" \
	"a failed health check after the restart is rolled back"
expect_contains "$out" "stays on 2.1" "the device stays on its version"
[ "$(count "$D/out/rollbacks")" = 1 ] || fail "install.rollback did not run"
[ "$(jq -r '."pump-fw".version' "$AGENT_STATE/tuf/installed.json")" = 2.1 ] ||
	fail "a rolled-back release was noted as installed"
rm "$D/fail-health"

# --- no restart within install.restart_timeout_s -------------------------------------
id=$(install injector/pump-2.2.raucb)
wait_for 60 restarts_are 3 || fail "install.restart did not run again"
wait_end "$id" failed 40
expect_contains "$(why "$id")" "did not restart within 10 s of install.restart; rolled back" \
	"a device that does not restart is rolled back"
[ "$(count "$D/out/rollbacks")" = 2 ] || fail "install.rollback did not run after the timeout"
[ ! -e "$NOTE" ] || fail "the note outlived the timeout"

# --- install.restart fails -----------------------------------------------------------
touch "$D/fail-restart"
id=$(install injector/pump-2.2.raucb)
wait_end "$id" failed
expect_contains "$(why "$id")" "install.restart failed (exit status 3); rolled back" \
	"a failing install.restart is rolled back"
[ "$(count "$D/out/rollbacks")" = 3 ] || fail "install.rollback did not run after install.restart failed"
[ ! -e "$NOTE" ] || fail "the note outlived the failed restart"
pass "an install without its restart is rolled back, the device left on 2.1"

# --- an offline install (USB bundle) that needs the restart -----------------------
rm "$D/fail-restart"
head -c 4000 /dev/urandom >"$WORK/pump-2.4.raucb"
repo_release "$WORK/rm" "$WORK/pump-2.4.raucb" pump-2.4.raucb 2.4 10
mkdir -p "$WORK/usb"
tether-server repo bundle injector/pump-2.4.raucb --output "$WORK/usb/pump-2.4.bundle" --dir "$SRV" \
	>/dev/null 2>&1 || fail "repo bundle 2.4"
n=$(count "$D/out/restarts")
out=$(tether-agent install "$WORK/usb/pump-2.4.bundle" --config "$AGENT_DIR/tether-agent.conf" 2>&1) ||
	fail "offline install of 2.4: $out"
expect_contains "$out" "install.health runs when the agent starts again" "the operator is told the check follows the restart"
[ "$(count "$D/out/restarts")" = $((n + 1)) ] || fail "the offline install did not run install.restart"
[ "$(jq -r .offline "$NOTE")" = true ] || fail "no note for the offline install's health check"
[ "$(jq -r '."pump-fw".version' "$AGENT_STATE/tuf/installed.json")" = 2.1 ] ||
	fail "the offline release was noted installed before its health check"
restart_agent
wait_for 60 sh -c "tether-server audit list --dir '$SRV' | grep device_offline_install | grep -q pump-2.4" ||
	fail "the server never heard of the offline install"
expect_contains "$(tether-server audit list --dir "$SRV" | grep device_offline_install | grep pump-2.4)" \
	"installed" "the offline install is reported installed after the health check"
[ "$(jq -r '."pump-fw".version' "$AGENT_STATE/tuf/installed.json")" = 2.4 ] ||
	fail "installed.json after the offline restart: $(cat "$AGENT_STATE/tuf/installed.json")"
[ ! -e "$NOTE" ] || fail "the offline note was left behind"
pass "an offline install's health check runs after its restart and is reported"

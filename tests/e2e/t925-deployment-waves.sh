#!/bin/sh
# Deployments in waves (issue 10, sections 5 and 7): `tether deploy create`
# rolls a published release out to two devices in waves of 50 % and 100 %,
# each install an activity of the maintenance queue; a wave whose failures
# pass --max-failures halts the deployment by itself (the next wave never
# starts, audited deployment_halted); `deploy resume` goes on and the
# deployment ends done; `deploy status` shows each wave's progress; a
# deployment held by a closed window is paused, then aborted, which
# cancels its installs that had not started; a specialist cannot deploy.
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D"
cat >"$D/installer" <<SH
#!/bin/sh
[ -e "$D/fail" ] && { echo "installer: signature check of the bundle failed"; exit 6; }
echo "\$(hostname) \$1" >>"$D/installs"
SH
chmod 755 "$D/installer"
count() { grep -c . "$1" 2>/dev/null || true; }

deploy 1
set_server_conf longpoll_s 5
restart_server
cli_login
CONF_EXTRA="hardware = inj-a
install.command = $D/installer {}"
AGENT_EXTRA_CONF=$CONF_EXTRA
agent_setup "$SERIAL"
AGENT_A=$AGENT_DIR
SERIAL_B=SN-0002
AGENT_DIR="$WORK/agent-b"
AGENT_NAME=agent-b
SERVICE_PORT=$(free_port)
agent_setup "$SERIAL_B"
AGENT_DIR=$AGENT_A
wait_for 30 sh -c "tether --json devices | jq -e '[.devices[] | select(.online)] | length == 2' >/dev/null" ||
	fail "both devices never came online: $(tether devices)"
add_user rel release_manager 1 US
login_user rel
rm_cli() { TETHER_HOME="$WORK/home-rel" tether "$@"; }

head -c 5000 /dev/urandom >"$WORK/pump-2.1.raucb"
repo_publish "$WORK/rm" "$WORK/pump-2.1.raucb"
release() { repo_release "$WORK/rm" "$@"; }   # FILE NAME VERSION COUNTER
head -c 6000 /dev/urandom >"$WORK/pump-2.2.raucb"
release "$WORK/pump-2.2.raucb" pump-2.2.raucb 2.2 8
dstate() { rm_cli --json deploy status "$1" | jq -r .state; }
is_state() { [ "$(dstate "$1")" = "$2" ]; }
wait_state() {   # wait_state ID STATE
	wait_for 90 is_state "$1" "$2" ||
		fail "deployment $1 is $(dstate "$1"), not $2: $(rm_cli deploy status "$1" --once)"
}

if out=$(tether deploy create injector/pump-2.2.raucb "$SERIAL" --reason x 2>&1); then
	fail "a specialist created a deployment: $out"
fi
expect_contains "$out" "software:install" "a deployment needs software:install"
if out=$(rm_cli deploy create injector/pump-2.2.raucb "$SERIAL" --waves 50,90 --reason x 2>&1); then
	fail "waves not ending at 100 were taken: $out"
fi
expect_contains "$out" "the last 100" "the waves must end at 100 %"
if out=$(rm_cli deploy create injector/pump-2.2.raucb "$SERIAL" SN-TYPO --reason x 2>&1); then
	fail "a deployment naming an unknown device was made: $out"
fi
expect_contains "$out" "no device SN-TYPO; nothing was deployed" "an unknown serial is named, nothing deployed"

# --- a failing first wave halts the deployment ----------------------------------
touch "$D/fail"
out=$(rm_cli deploy create injector/pump-2.2.raucb "$SERIAL" "$SERIAL_B" --waves 50,100 \
	--max-failures 0 --reason "CR-12 pump firmware 2.2") || fail "deploy create: $out"
expect_contains "$out" "to 2 device(s) in 2 wave(s)" "the deployment says what it covers"
id=$(printf '%s\n' "$out" | awk '/^deployment / { sub(":", "", $2); print $2; exit }')
[ -n "$id" ] || fail "deploy create printed no id: $out"
wait_state "$id" halted
st=$(rm_cli --json deploy status "$id")
[ "$(printf '%s' "$st" | jq '.waves[0].failed')" = 1 ] || fail "wave 1 shows no failure: $st"
[ "$(printf '%s' "$st" | jq '.waves[1].started')" = false ] || fail "wave 2 started after a failed wave: $st"
expect_contains "$(printf '%s' "$st" | jq -r .why)" "1 of 1 install(s) failed, more than the 0% allowed" \
	"the halt says why"
[ "$(rm_cli --json queue list | jq '[.activities[] | select(.kind == "install")] | length')" = 1 ] ||
	fail "more than the first wave's install was queued: $(rm_cli queue list)"
audit_has deployment_halted "$id" "the halt is audited"
out=$(rm_cli deploy status "$id" --once)
expect_contains "$out" "halted" "status shows the state"
expect_contains "$out" "not started" "status shows the wave that did not start"
pass "a first wave that fails halts the deployment before the second"

# --- resumed: the next wave, then done ------------------------------------------------
rm "$D/fail"
out=$(rm_cli deploy resume "$id" --reason "installer fixed, CR-12 approved to go on") ||
	fail "deploy resume: $out"
expect_contains "$out" "is running" "resume says the state"
wait_state "$id" done
st=$(rm_cli --json deploy status "$id")
[ "$(printf '%s' "$st" | jq '.waves[1].done')" = 1 ] || fail "wave 2 did not install: $st"
[ "$(count "$D/installs")" = 1 ] || fail "the installer ran $(count "$D/installs") times"
audit_has deployment_resumed "installer fixed" "the resume is audited with its reason"
audit_has deployment_done "$id" "the end is audited"
out=$(rm_cli deploy status)
expect_contains "$out" "$id" "deploy status lists the deployment"
expect_contains "$out" "done" "with its state"
pass "a resumed deployment goes on to its next wave and ends done"

# --- paused and aborted while its window is closed -------------------------------------
head -c 7000 /dev/urandom >"$WORK/pump-2.3.raucb"
release "$WORK/pump-2.3.raucb" pump-2.3.raucb 2.3 9
day=$(date -u -d '+3 days' +%a | tr 'A-Z' 'a-z')
out=$(rm_cli deploy create injector/pump-2.3.raucb --product injector --waves 50,100 \
	--window "$day 01:00-02:00" --reason "CR-13 2.3 in the next window") || fail "deploy create 2.3: $out"
id2=$(printf '%s\n' "$out" | awk '/^deployment / { sub(":", "", $2); print $2; exit }')
[ "$(dstate "$id2")" = running ] || fail "the new deployment is $(dstate "$id2")"
sleep 4
[ "$(rm_cli --json deploy status "$id2" | jq '.waves[0].pending')" = 1 ] ||
	fail "the install ran outside its window: $(rm_cli deploy status "$id2" --once)"
out=$(rm_cli deploy pause "$id2" --reason "ward busy") || fail "deploy pause: $out"
expect_contains "$out" "is paused" "a running deployment pauses"
if out=$(rm_cli deploy pause "$id2" --reason again 2>&1); then fail "a paused deployment paused again: $out"; fi
expect_contains "$out" "only a running one" "pausing twice says why not"
out=$(rm_cli deploy abort "$id2" --reason "2.3 withdrawn") || fail "deploy abort: $out"
expect_contains "$out" "installs that had not started are cancelled" "abort cancels the waiting installs"
[ "$(dstate "$id2")" = aborted ] || fail "the deployment is $(dstate "$id2"), not aborted"
act=$(rm_cli --json queue list --batch "$(rm_cli --json deploy status "$id2" | jq -r '.waves[0].batch')" |
	jq -r '.activities[0].id')
expect_contains "$(rm_cli queue show "$act")" "aborted by rel: 2.3 withdrawn" "the cancelled install says why"
[ "$(count "$D/installs")" = 1 ] || fail "an aborted deployment installed"
audit_has deployment_aborted "2.3 withdrawn" "the abort is audited"
pass "a deployment waiting for its window pauses, and aborting cancels its installs"

tether-server audit verify --dir "$SRV" >/dev/null || fail "server trail broken"

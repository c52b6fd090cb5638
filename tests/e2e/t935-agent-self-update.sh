#!/bin/sh
# The agent updating itself (issue 10, sections 3 and 7): with
# self_update = yes, an install of a tether-agent release checks the new
# binary before it takes the old one's place (--version says the release's
# version, `selftest` reaches the server as this device), swaps the files
# (the old kept as .prev), and the monitor runs the new one, which must
# have its server answer within the trial: then the activity ends done. A
# binary whose selftest fails is never put in place; one whose server does
# not answer after its start is replaced by the previous binary, which
# ends the activity failed, saying it fell back.
#
# The "releases" are small bash wrappers around this build's binary that
# say another version; `exec -a` keeps their own path as argv[0], the path
# the agent was started as and replaces.
. "$(dirname "$0")/lib.sh"
command -v bash >/dev/null 2>&1 || skip "bash is not installed"

B="$WORK/bin"
mkdir -p "$B"
cp "$(command -v tether-agent)" "$B/tether-agent-real"
cp "$B/tether-agent-real" "$B/tether-agent"
chmod 755 "$B"/*

deploy 1
set_server_conf longpoll_s 5
restart_server
AGENT_EXTRA_CONF="hardware = inj-a
self_update = yes"
agent_setup "$SERIAL"
CONF="$AGENT_DIR/tether-agent.conf"
cli_login
wait_online
# The agent as a device runs it: started from its installed path.
kill "$PID_agent"
wait_for 20 sh -c "! kill -0 $PID_agent 2>/dev/null" || fail "the agent did not stop"
cp "$CONF" "$WORK/good.conf"
bg agent-installed "$B/tether-agent" run --config "$CONF"
wait_online
add_user rel release_manager 1 US
login_user rel
rm_cli() { TETHER_HOME="$WORK/home-rel" tether "$@"; }
state() { rm_cli --json queue show "$1" | jq -r .state; }
ended() { [ "$(state "$1")" = "$2" ]; }
wait_end() {   # wait_end ID STATE SECONDS
	wait_for "$3" ended "$1" "$2" ||
		fail "activity $1 is $(state "$1"), not $2: $(rm_cli queue show "$1" | tail -20)"
}
why() { rm_cli --json queue show "$1" | jq -r .why; }
install() {
	rm_cli queue add install "injector/$1" "$SERIAL" --reason "REL-9 agent update" | awk 'NR == 2 { print $1 }'
}
audit() { grep "$1" "$AGENT_DIR/state/audit.log" || true; }
# wrapper VERSION FILE [SELFTEST-EXIT] [BREAK]: a "release" of the agent
wrapper() {
	cat >"$2" <<SH
#!/bin/bash
if [ "\$1" = --version ]; then echo "tether-agent $1"; exit 0; fi
if [ "\$1" = selftest ] && [ -n "${3:-}" ]; then echo "selftest: the pump bus does not answer"; exit ${3:-0}; fi
if [ "\$1" = run ]; then
	if [ -n "${4:-}" ]; then
		sed "s|^server *=.*|server = https://127.0.0.1:$(free_port)|" "$WORK/good.conf" >"$CONF"
	else
		cp "$WORK/good.conf" "$CONF"
	fi
fi
exec -a "\$0" "$B/tether-agent-real" "\$@"
SH
}

head -c 3000 /dev/urandom >"$WORK/pump.raucb"
repo_publish "$WORK/rm" "$WORK/pump.raucb"

# --- an update that passes ------------------------------------------------------------
wrapper 9.9.9 "$WORK/agent-9.9.9"
repo_release "$WORK/rm" "$WORK/agent-9.9.9" agent-9.9.9 9.9.9 1 inj-a tether-agent
cp "$B/tether-agent" "$WORK/old-agent"
id=$(install agent-9.9.9)
wait_end "$id" done 90
expect_contains "$(why "$id")" "tether-agent updated from 0.1.0 to 9.9.9" "the activity says the update took"
cmp -s "$B/tether-agent" "$WORK/agent-9.9.9" || fail "the installed binary is not the release"
cmp -s "$B/tether-agent.prev" "$WORK/old-agent" || fail "the previous binary was not kept"
expect_contains "$(audit update_self_swapped)" "tether-agent 9.9.9 in place of 0.1.0" "the swap is audited"
expect_contains "$(audit update_installed | tail -1)" "updated from 0.1.0 to 9.9.9" "the update is audited"
expect_contains "$(cat "$WORK"/agent-installed.log)" "on trial until its server answers" "the new agent ran a trial"
[ "$(jq -r '."tether-agent".version' "$AGENT_DIR/state/tuf/installed.json")" = 9.9.9 ] ||
	fail "installed.json: $(cat "$AGENT_DIR/state/tuf/installed.json")"
wait_online
pass "the agent updates itself: checked, swapped, started, confirmed by its server"

# --- a binary whose selftest fails is never put in place ----------------------------------
wrapper 9.9.10 "$WORK/agent-9.9.10" 3
repo_release "$WORK/rm" "$WORK/agent-9.9.10" agent-9.9.10 9.9.10 2 inj-a tether-agent
id=$(install agent-9.9.10)
wait_end "$id" failed 60
expect_contains "$(why "$id")" "selftest failed (exit status 3)" "a failing selftest is said"
expect_contains "$(why "$id")" "stays" "and the running agent stays"
cmp -s "$B/tether-agent" "$WORK/agent-9.9.9" || fail "a binary that failed its selftest was put in place"
pass "a new binary that fails its selftest never replaces the running one"

# --- a binary whose server does not answer after its start: fall back ----------------------
wrapper 9.9.11 "$WORK/agent-9.9.11" "" break
repo_release "$WORK/rm" "$WORK/agent-9.9.11" agent-9.9.11 9.9.11 3 inj-a tether-agent
id=$(install agent-9.9.11)
wait_end "$id" failed 150
expect_contains "$(why "$id")" "did not pass its health check after its start" "the failed trial is said"
expect_contains "$(why "$id")" "fell back to" "and the fallback"
cmp -s "$B/tether-agent" "$WORK/agent-9.9.9" || fail "the previous binary is not back"
expect_contains "$(audit update_rolled_back | tail -1)" "fell back" "the fallback is audited"
wait_online
pass "a new agent whose server does not answer is replaced by the previous one"

tether-agent audit verify --config "$CONF" >/dev/null || fail "device trail broken"

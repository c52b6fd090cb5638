#!/bin/sh
# Device status (issue 9, section 1): the OEM status.command runs as the
# support user and its JSON reaches the server; `tether devices show` gives
# the status, the error history with first-seen times, the versions and the
# recent sessions; a change of state arrives at once, not after the held
# long-poll (longpoll_s stays 150 here); a new fault or alerting error code
# raises a device_alert through the notification outbox (alert.PRODUCT);
# counters alone make no history; a failing or lying command keeps the
# last good status and says why; first-seen times survive an agent restart;
# `tether devices` filters and sorts; a bad status is refused with a clear
# error and the server keeps serving.
. "$(dirname "$0")/lib.sh"

ST="$WORK/status"
mkdir -p "$ST"
chmod 755 "$ST"
echo 0 >"$ST/exit"
cat >"$ST/ok.json" <<'J'
{"health": "ok", "errors": [], "counters": {"injections": 5},
 "versions": {"firmware": "2.3.1", "pump-controller": "1.9"}}
J
cp "$ST/ok.json" "$ST/now.json"
# The command: prints what the test put in now.json, notes who ran it.
cat >"$ST/cmd" <<CMD
#!/bin/sh
id -un >"$ST/who.tmp" 2>/dev/null && mv "$ST/who.tmp" "$ST/who" 2>/dev/null
cat "$ST/now.json"
exit \$(cat "$ST/exit")
CMD
chmod 755 "$ST/cmd"
chmod 644 "$ST"/*.json "$ST/exit"
[ "$(id -u)" != 0 ] || { e2e_accounts; chown support: "$ST"; }
set_status() { cp "$ST/$1.json" "$ST/now.json.tmp" && chmod 644 "$ST/now.json.tmp" && mv "$ST/now.json.tmp" "$ST/now.json"; }

# The notification command: saves each body.
NB="$WORK/notes"
notify_capture "$NB"

SERVER_EXTRA_CONF="alert.injector = fault, E-1*
status.history_days = 30
notify.command = $WORK/notify-cmd
notify.backoff_base_s = 1"
deploy 1
AGENT_EXTRA_CONF="status.command = $ST/cmd
status.interval_s = 10"
agent_setup "$SERIAL"
enroll_token SN-0002 >/dev/null
cli_login
wait_online

show() { tether devices show "$SERIAL"; }
wait_show() {
	wait_for "$1" sh -c "tether devices show '$SERIAL' | grep -Eq -- '$2'" ||
		fail "$3 (devices show: $(show))"
}

wait_show 30 '^health +ok ' "the first status never arrived"
out=$(show)
expect_contains "$out" "firmware 2.3.1" "the command's versions are shown"
expect_contains "$out" "tether-agent" "the agent adds its own version"
expect_contains "$out" "injections=5" "the counters are shown"
expect_contains "$out" "uptime" "the agent adds the uptime"
expect_contains "$out" "disk free" "the agent adds the free disk"
if [ "$(id -u)" = 0 ]; then
	[ "$(cat "$ST/who")" = support ] || fail "the status command ran as $(cat "$ST/who"), not support"
	pass "the status command runs as the support user"
fi

# A fault with two new codes: at once (the long-poll holds 150 s), with an
# alert for the fault and E-101 (alert.injector = fault, E-1*), not E-7.
cat >"$ST/fault.json" <<'J'
{"health": "fault", "errors": [{"code": "E-101"}, {"code": "E-7", "since": 1765000000}],
 "counters": {"injections": 5}, "versions": {"firmware": "2.3.1", "pump-controller": "1.9"}}
J
set_status fault
wait_show 40 '^health +fault ' "the fault did not arrive before the held long-poll ended"
out=$(show)
expect_contains "$out" "E-101 since" "the active error is shown with its first-seen time"
expect_contains "$(echo "$out" | grep -A3 '^error history')" "active" "the error history says active"
pass "a change of state arrives at once"
wait_for 20 sh -c "grep -l device_alert '$NB'/*.body >/dev/null 2>&1" || fail "no device_alert notification"
alert=$(cat "$(grep -l device_alert "$NB"/*.body | head -1)")
expect_contains "$alert" '"serial":"SN-0001"' "the alert names the device"
expect_contains "$alert" '"alert_health":"fault"' "the alert names the fault"
expect_contains "$alert" '"new_errors":["E-101"]' "the alert names E-101 only (E-7 is not in the list)"
pass "a new fault and an alerting code raise one device_alert"

hist() { tether --json devices show "$SERIAL" | jq '.status_history | length'; }
n_hist=$(hist)
[ "$n_hist" = 2 ] || fail "expected 2 status changes (ok, fault), got $n_hist"

# Counters alone: no history row, no alert. They reach the server with the
# next ping: the agent's restart sends one at once. The first-seen time of
# E-101 (the command gives none) survives the restart.
since1=$(tether --json devices show "$SERIAL" | jq -r '.device_status.errors[] | select(.code == "E-101") | .since')
sed 's/"injections": 5/"injections": 6/' "$ST/fault.json" >"$ST/fault6.json"
set_status fault6
restart_agent
wait_show 40 'injections=6' "the counters never arrived"
[ "$(hist)" = "$n_hist" ] || fail "a counter change made history ($(hist) rows)"
since2=$(tether --json devices show "$SERIAL" | jq -r '.device_status.errors[] | select(.code == "E-101") | .since')
[ "$since1" = "$since2" ] || fail "E-101's first seen moved from $since1 to $since2 across the restart"
[ "$(grep -l device_alert "$NB"/*.body | wc -l)" = 1 ] || fail "more than one alert"
pass "counters make no history; first-seen survives a restart"

# A failing command keeps the last good status and says why, at once.
echo 3 >"$ST/exit"
wait_show 40 '^note +status command exited with status 3' "a failing command is not reported"
out=$(show)
expect_contains "$out" "E-101 since" "the last good errors stand while the command fails"
echo 0 >"$ST/exit"
printf '{"health": "fault", "errors": [{"code": "E-1\\u001b[31m"}]}' >"$ST/evil.json"
set_status evil
wait_show 40 '^note +status command output refused: errors\[0\]' "bad output is not refused"
expect_not_contains "$(show)" "$(printf '\033')" "no escape reaches the terminal"
set_status fault6
wait_for 40 sh -c "! tether devices show '$SERIAL' | grep -q '^note'" || fail "the note stayed after the command recovered"
pass "a failing or lying command keeps the last good status and says why"

# Filters and sorting.
list() { tether --json devices "$@" | jq -r '[.devices[].serial] | join(" ")'; }
[ "$(list --health fault)" = "SN-0001" ] || fail "--health fault: $(list --health fault)"
[ "$(list --health unknown)" = "SN-0002" ] || fail "--health unknown: $(list --health unknown)"
[ "$(list --error E-101)" = "SN-0001" ] || fail "--error E-101"
[ "$(list --error E-999)" = "" ] || fail "--error E-999 matched"
[ "$(list --below firmware:2.4)" = "SN-0001" ] || fail "--below firmware:2.4"
[ "$(list --below firmware:2.10)" = "SN-0001" ] || fail "--below firmware:2.10 (2.3.1 < 2.10)"
[ "$(list --below firmware:2.3.1)" = "" ] || fail "--below firmware:2.3.1 matched its own version"
[ "$(list --not-seen 1h)" = "SN-0002" ] || fail "--not-seen 1h: $(list --not-seen 1h)"
[ "$(list --product injector --site "$SITE")" = "SN-0001 SN-0002" ] || fail "--product --site"
[ "$(list --product scanner)" = "" ] || fail "--product scanner matched"
[ "$(list --sort health)" = "SN-0001 SN-0002" ] || fail "--sort health"
[ "$(list --sort seen)" = "SN-0002 SN-0001" ] || fail "--sort seen: $(list --sort seen)"
expect_contains "$(tether devices --error E-999)" "no devices match" "an empty filtered list says so"
expect_contains "$(tether devices --health fault | head -1)" "HEALTH" "the table has a HEALTH column"
out=$(tether devices --health broken 2>&1) && fail "--health broken was accepted"
expect_contains "$out" "--health is ok, warning, fault or unknown" "a bad filter is a usage error"
[ "$(http_status "$WORK/bad.json" GET "/api/v1/devices?colour=red")" = 400 ] || fail "an unknown query key was accepted"
[ "$(http_status "$WORK/bad.json" GET "/api/v1/devices?below=firmware")" = 400 ] || fail "below without a version was accepted"
pass "devices filters by health, error, version, unseen time, product and site, and sorts"

# A bad status from the device is refused with why; the server goes on.
r=$(device_api "$AGENT_DIR/state" POST /api/v1/device/status '{"health":"on fire"}')
expect_contains "$r" "health must be ok, warning or fault" "a bad status is refused with why"
r=$(device_api "$AGENT_DIR/state" POST /api/v1/device/status '{"health":"ok","extra":1}')
expect_contains "$r" 'unknown field' "an unknown field is refused"
expect_contains "$(cat "$WORK/server.log")" "status refused" "the server logs the refusal"
wait_show 5 '^health +fault ' "a refused status changed the kept one"
pass "a bad status is refused and the kept one stands"

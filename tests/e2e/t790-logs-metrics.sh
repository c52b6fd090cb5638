#!/bin/sh
# Logs and metrics: timestamped log lines; journald priority prefixes when
# JOURNAL_STREAM names the daemon's stderr; JSON logs; /healthz on the
# server (API and metrics listener) and on the relay; /metrics off by
# default and, once configured, with HELP/TYPE lines and counters that move
# after a ping, a failed login and a session; admin audit records name the
# operating-system user.
. "$(dirname "$0")/lib.sh"

deploy 1
MPORT=$(free_port)
RMPORT=$(free_port)


# --- text logs: a timestamp on every line; metrics off by default ---
grep -q '^# metrics_listen = ' "$SRV/tether-server.conf" || fail "init's config lacks the commented metrics_listen"
bad=$(grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z tether-server\[[0-9]+\] (debug|info|warn|error): ' \
	"$WORK/server.log" || true)
[ -z "$bad" ] || fail "server log lines without a timestamp: $bad"
[ -s "$WORK/server.log" ] || fail "the server logged nothing"
pass "every server log line starts with a UTC timestamp"
rc=0; curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 7 ] || fail "metrics port answered (curl $rc) though metrics_listen is not set"
expect_not_contains "$(cat "$WORK/server.log")" "metrics and health" "no metrics listener by default"

# --- the server's /healthz on its API listener, without a login ---
h=$(curl -sS --max-time 10 --cacert "$SRV/ca/root.crt" "https://127.0.0.1:$SERVER_PORT/healthz")
[ "$(printf '%s' "$h" | jq -r .status)" = ok ] || fail "API /healthz: $h"
pass "GET /healthz on the API listener says ok with no token"

# --- the relay under "journald": prefixes, no timestamp; metrics on ---
RCONF="$SRV/relays/relay-1/tether-relay.conf"
kill "$PID_relay_1"
wait_for 10 sh -c "! kill -0 $PID_relay_1" || fail "relay-1 did not stop"
printf 'metrics_listen = 127.0.0.1:%s\n' "$RMPORT" >>"$RCONF"
: >"$WORK/relay-j.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/relay-j.log")
JOURNAL_STREAM=$JOURNAL_STREAM tether-relay run --config "$RCONF" >>"$WORK/relay-j.log" 2>&1 &
PIDS="$PIDS $!"; RPID=$!
wait_port "$RMPORT"
cp "$RCONF" "$WORK/relay.conf.good"
echo 'no_such_key = 1' >>"$RCONF"
kill -HUP "$RPID"
wait_for 10 grep -q '^<3>tether-relay\[[0-9]*\] error: reload: ' "$WORK/relay-j.log" ||
	fail "no <3> error line after a refused reload: $(cat "$WORK/relay-j.log")"
cp "$WORK/relay.conf.good" "$RCONF"
grep -q '^<6>tether-relay\[[0-9]*\] info: relay relay-1 running' "$WORK/relay-j.log" ||
	fail "info lines lack <6>: $(head -3 "$WORK/relay-j.log")"
bad=$(grep -Ev '^<[3467]>tether-relay\[' "$WORK/relay-j.log" || true)
[ -z "$bad" ] || fail "lines without a journald prefix: $bad"
pass "under journald: <6> info and <3> error prefixes, journald's own timestamps"
h=$(curl -sS --max-time 5 -w ' %{http_code}' "http://127.0.0.1:$RMPORT/healthz")
expect_contains "$h" "ok: relay relay-1" "the relay's /healthz says ok"
expect_contains "$h" " 200" "the relay's /healthz is 200"
# A JOURNAL_STREAM naming another file: plain timestamped lines.
JOURNAL_STREAM=1:1 tether-relay audit verify --config "$RCONF" >/dev/null 2>"$WORK/other.err" || true
grep -q '^<' "$WORK/other.err" && fail "prefixes although stderr is not the journal stream"
pass "a JOURNAL_STREAM that is not stderr gets no prefixes"

# --- the server with JSON logs and a metrics listener ---
set_server_conf log_format json
set_server_conf metrics_listen "127.0.0.1:$MPORT"
restart_server
wait_port "$MPORT"
wait_relay_up relay-1 "$WORK/server-2.log"
n=0
while IFS= read -r line; do
	printf '%s' "$line" | jq -e '(.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z$")) and
		.prog == "tether-server" and (.pid | type) == "number" and
		(.level | IN("debug","info","warn","error")) and (.msg | type) == "string"' \
		>/dev/null || fail "not a JSON log record: $line"
	n=$((n + 1))
done <"$WORK/server-2.log"
[ "$n" -ge 3 ] || fail "only $n JSON log lines"
pass "log_format = json: $n lines, each a JSON record"

h=$(curl -sS --max-time 5 -w ' %{http_code}' "http://127.0.0.1:$MPORT/healthz")
expect_contains "$h" "ok: store: ok" "the server's /healthz on the metrics listener"
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MPORT/metrics")
[ "$code" = 405 ] || fail "POST /metrics answered $code"
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")
[ "$code" = 404 ] || fail "GET / answered $code"
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 3000 /dev/zero | tr '\0' a)" \
	"http://127.0.0.1:$MPORT/metrics")
[ "$code" = 431 ] || fail "an oversized head answered $code"
pass "only GET /metrics and /healthz; an oversized head is refused"
# At most 8 connections: a ninth is closed unanswered while 8 idle ones
# are open; once they are gone, scrapes are answered again.
python3 - "$MPORT" <<'PY' || fail "the metrics listener's connection cap"
import socket, sys
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(8)]
extra = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    extra.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
    got = extra.recv(100)
except (ConnectionResetError, BrokenPipeError):
    got = b""
if got != b"":
    sys.exit("a ninth connection was answered: %r" % got)
for s in idle:
    s.close()
PY
wait_for 5 sh -c "curl -sS --max-time 2 http://127.0.0.1:$MPORT/healthz | grep -q '^ok'" ||
	fail "no answer once the idle connections closed"
pass "the metrics listener holds at most 8 connections and serves again after"

# metric VALUE_NAME PORT: the sample's value (the line "NAME VALUE").
metric() { curl -sS --max-time 5 "http://127.0.0.1:$2/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
m=$(curl -sS --max-time 5 -D "$WORK/m.hdr" "http://127.0.0.1:$MPORT/metrics")
grep -qi '^Content-Type: text/plain; version=0.0.4' "$WORK/m.hdr" || fail "content type: $(cat "$WORK/m.hdr")"
# Exposition format: every sample's family has HELP then TYPE before it.
printf '%s\n' "$m" | awk '
	/^# HELP / { help[$3] = 1; next }
	/^# TYPE / { if (!help[$3]) { print "TYPE before HELP: " $3; exit 1 }
	             if ($4 != "counter" && $4 != "gauge") { print "bad type " $0; exit 1 }
	             type[$3] = $4; next }
	/^#/ { print "bad comment " $0; exit 1 }
	{ name = $1; sub(/\{.*/, "", name)
	  if (!type[name]) { print "no TYPE for " name; exit 1 }
	  if ($0 !~ /^[a-z_]+(\{[a-z_]+="[^"]*"\})? [0-9]+$/) { print "bad sample " $0; exit 1 }
	  if (type[name] == "counter" && name !~ /_total$/) { print "counter without _total " name; exit 1 } }
' || fail "exposition format"
for f in 'tether_sessions{state="active"}' tether_devices_online tether_pings_total \
	tether_notify_backlog tether_audit_appends_total tether_login_failures_total; do
	printf '%s\n' "$m" | grep -q "^$f " || fail "no $f in /metrics"
done
pass "/metrics: HELP and TYPE for every family, the server's metrics present"

# --- counters that move: a failed login, pings, a session ---
fails0=$(metric tether_login_failures_total "$MPORT")
TETHER_PASSWORD=wrong-password TETHER_TOTP=000000 tether login --server "https://127.0.0.1:$SERVER_PORT" \
	--ca "$SRV/ca/root.crt" --user "$SPEC_USER" >/dev/null 2>&1 && fail "a wrong password logged in"
wait_for 5 sh -c "[ \"\$(curl -sS http://127.0.0.1:$MPORT/metrics | awk '\$1 == \"tether_login_failures_total\" { print \$2 }')\" -gt $fails0 ]" ||
	fail "tether_login_failures_total stayed at $fails0"
pass "a failed login moves tether_login_failures_total"

start_device_service
agent_setup "$SERIAL"
cli_login
wait_online
LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "all systems nominal" "a session's bytes flow"
m=$(curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics")
printf '%s\n' "$m" | grep -q '^tether_sessions{state="active"} 1$' || fail "no active session counted: $m"
printf '%s\n' "$m" | grep -q '^tether_devices_online 1$' || fail "device not counted online"
[ "$(printf '%s\n' "$m" | awk '$1 == "tether_pings_total" { print $2 }')" -ge 1 ] || fail "no ping counted"
[ "$(printf '%s\n' "$m" | awk '$1 == "tether_audit_appends_total" { print $2 }')" -ge 3 ] ||
	fail "audit appends not counted"
pass "a session, a ping and the device online appear in the server's metrics"
r=$(curl -sS --max-time 5 "http://127.0.0.1:$RMPORT/metrics")
printf '%s\n' "$r" | grep -q '^tether_relay_legs_accepted_total{port="device"} 1$' || fail "relay device leg: $r"
printf '%s\n' "$r" | grep -q '^tether_relay_legs_accepted_total{port="client"} 1$' || fail "relay client leg"
printf '%s\n' "$r" | grep -q '^tether_relay_sessions 1$' || fail "relay sessions gauge"
d2c=$(printf '%s\n' "$r" | awk '$1 == "tether_relay_bytes_total{direction=\"device_to_client\"}" { print $2 }')
[ "${d2c:-0}" -gt 0 ] || fail "no relay bytes counted"
pass "the relay counts the session's legs and $d2c bytes to the client"

# --- the admin command's audit names the OS user ---
SUDO_USER=opsadmin tether-server site add st-metrics --customer "Metrics Hospital" \
	--contract-until "$(date_in_days 30)" --dir "$SRV" >/dev/null 2>&1 || fail "site add"
rec=$(tether-server audit list --json --dir "$SRV" | jq -c '[.records[] | select(.action == "site_add")] | last')
d=$(printf '%s' "$rec" | jq -r '.detail | if type == "string" then fromjson else . end')
[ "$(printf '%s' "$d" | jq -r .os_user)" = "$(id -un)" ] || fail "os_user not recorded: $rec"
[ "$(printf '%s' "$d" | jq -r .os_uid)" = "$(id -u)" ] || fail "os_uid not recorded: $rec"
[ "$(printf '%s' "$d" | jq -r .sudo_user)" = opsadmin ] || fail "sudo_user not recorded: $rec"
pass "the admin's audit record names os_user $(id -un) and sudo_user"
# Run as the daemon's account (the README's runuser), the login uid still
# names the person: the kernel keeps it through sudo, su and runuser. A
# process may set its own only while it is unset, as here (no login).
if [ "$(cat /proc/self/loginuid 2>/dev/null)" = 4294967295 ] && [ "$(id -u)" = 0 ]; then
	sh -c 'echo 0 >/proc/self/loginuid && exec "$@"' sh \
		tether-server site add st-login --customer "Metrics Hospital" \
		--contract-until "$(date_in_days 30)" --dir "$SRV" >/dev/null 2>&1 || fail "site add with a login uid"
	rec=$(tether-server audit list --json --dir "$SRV" | jq -c '[.records[] | select(.action == "site_add")] | last')
	d=$(printf '%s' "$rec" | jq -r '.detail | if type == "string" then fromjson else . end')
	[ "$(printf '%s' "$d" | jq -r .login_uid)" = 0 ] || fail "login_uid not recorded: $rec"
	[ "$(printf '%s' "$d" | jq -r .login_user)" = "$(id -un 0)" ] || fail "login_user not recorded: $rec"
	pass "the admin's audit record names the login user, kept through runuser"
	d=$(tether-server audit list --json --dir "$SRV" | jq -c '[.records[] | select(.action == "site_add")] | first | .detail')
	case $d in *login_uid*) fail "a command with no login uid recorded one: $d" ;; esac
else
	log "note: the login uid is already set here; its record is not checked"
fi
tether-server audit verify --dir "$SRV" >/dev/null || fail "server audit chain broken"

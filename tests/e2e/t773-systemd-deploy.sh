#!/bin/sh
# README "Deploying it for real", step by step, from the four packages and
# with systemctl: systemd runs as PID 1 of a clean Debian 12 root (the one
# t772 builds, plus systemd and apt), in its own pid and mount namespaces;
# loopback is shared with the host. `apt install ./FILE.deb`, the server, a
# relay with its own key, and the device all start from their units
# (Type=notify, the sandboxing, the state folders as packaged); the
# specialist, on the host, enrolls, logs in and reaches the device's page
# through a consented forward, which survives `systemctl reload
# tether-server`. Every command in the root runs through nsenter into
# systemd's namespaces, as an administrator's shell on that host would.
if [ "$(id -u)" != 0 ]; then
	echo "[t773-systemd-deploy] skipped: booting systemd in a root needs root"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
make_debs
R="$WORK/root"
# shellcheck disable=SC2086
sd_root "$R" $DEB_DEPS
mkdir -p "$R/root/deb"
cp "$WORK"/deb/*.deb "$R/root/deb/"
sd_boot "$R"
# the operator's consent, at the device
agent_consent() { insd tether-agent consent "$@" --config /etc/tether/agent.conf; }
pass "systemd boots as PID 1 of the clean root (is-system-running: running)"

# ---- packages: apt install ./FILE.deb on each host ----
for d in "$R"/root/deb/*.deb; do
	insd apt-get install -y "/root/deb/$(basename "$d")" >>"$WORK/apt.log" 2>&1 ||
		fail "apt install ./$(basename "$d"): $(tail -5 "$WORK/apt.log")"
done
for p in tether-server tether-relay tether-agent; do
	st=$(insd systemctl is-enabled "$p" 2>&1) || true
	[ "$st" = disabled ] || fail "$p after apt install: '$st', want installed and not enabled"
done
pass "apt install of the four packages; the units are there and not started"

# ---- the server host ----
tsrv() { insd runuser -u tether -- tether-server "$@"; }
SERVER_PORT=$(free_port)
SRV="$R/var/lib/tether"		# the host's view, for the CLI's --ca
CA_FP=$(tsrv init /var/lib/tether --host 127.0.0.1 --listen "127.0.0.1:$SERVER_PORT" 2>"$WORK/init.log") ||
	fail "tsrv init: $(cat "$WORK/init.log")"
tsrv policy check --dir /var/lib/tether >>"$WORK/init.log" 2>&1 || fail "policy check: $(tail -3 "$WORK/init.log")"
tsrv site add "$SITE" --customer "St Example Hospital" --contract-until "$(date_in_days 365)" \
	--dir /var/lib/tether >>"$WORK/init.log" 2>&1 || fail "site add: $(tail -3 "$WORK/init.log")"
tsrv product add injector --dir /var/lib/tether >>"$WORK/init.log" 2>&1 ||
	fail "product add: $(tail -3 "$WORK/init.log")"
tsrv user add "$SPEC_USER" --role specialist --level 2 --region US --dir /var/lib/tether \
	>"$WORK/code-$SPEC_USER" 2>>"$WORK/init.log" || fail "user add: $(tail -3 "$WORK/init.log")"
tsrv user certify "$SPEC_USER" --product injector --until "$(date_in_days 365)" \
	--dir /var/lib/tether >>"$WORK/init.log" 2>&1 || fail "user certify: $(tail -3 "$WORK/init.log")"
tsrv user add carol --role customer_approver --site "$SITE" --dir /var/lib/tether \
	>"$WORK/code-carol" 2>>"$WORK/init.log" || fail "user add carol: $(tail -3 "$WORK/init.log")"
insd systemctl enable --now tether-server >>"$WORK/systemctl.log" 2>&1 ||
	fail "systemctl enable --now tether-server: $(tail -3 "$WORK/systemctl.log"); $(insd journalctl -u tether-server --no-pager | tail -5)"
[ "$(insd systemctl is-active tether-server)" = active ] || fail "tether-server is not active"
wait_port "$SERVER_PORT"
pass "the server, set up as the README says, runs under its unit (Type=notify: active once ready)"

# ---- the relay host: its key made there, its CSR signed on the server ----
insd runuser -u tether -- tether-relay init --dir /etc/tether/relay --name relay-1 >>"$WORK/init.log" 2>&1 ||
	fail "relay init: $(tail -3 "$WORK/init.log")"
DP=$(free_port); CP=$(free_port)
insd install -o tether -m 0644 /etc/tether/relay/relay.csr /tmp/relay-1.csr	# "copy to the server host"
tsrv relay add relay-1 --host 127.0.0.1 --device-port "$DP" --client-port "$CP" \
	--csr /tmp/relay-1.csr --state-dir /var/lib/tether-relay --dir /var/lib/tether \
	>>"$WORK/init.log" 2>&1 || fail "relay add: $(tail -3 "$WORK/init.log")"
for f in relay.crt ca.crt ticket.pub checkpoint.pub tether-relay.conf; do
	insd install -o tether -m 0644 "/var/lib/tether/relays/relay-1/$f" /etc/tether/relay/ ||
		fail "install $f into /etc/tether/relay"
done
insd systemctl enable --now tether-relay >>"$WORK/systemctl.log" 2>&1 ||
	fail "systemctl enable --now tether-relay: $(insd journalctl -u tether-relay --no-pager | tail -5)"
wait_port "$DP"
i=0
until insd journalctl -u tether-server -o cat --no-pager | grep -E 'relay relay-1 \(.*\) is (up|down)' |
	tail -1 | grep -q 'is up'; do
	[ $i -lt 300 ] || fail "the server never saw relay-1 up"
	sleep 0.1; i=$((i + 1))
done
pass "the relay, its key made on its host, runs under its unit and the server sees it up"

# ---- the device ----
start_device_service
token=$(tsrv device add "$SERIAL" --customer "St Example Hospital" --product injector \
	--site "$SITE" --dir /var/lib/tether 2>>"$WORK/init.log") || fail "device add: $(tail -3 "$WORK/init.log")"
deb_agent_enroll insd "$R" "$token"
insd systemctl enable --now tether-agent >>"$WORK/systemctl.log" 2>&1 ||
	fail "systemctl enable --now tether-agent: $(insd journalctl -u tether-agent --no-pager | tail -5)"
[ "$(insd systemctl is-active tether-agent)" = active ] || fail "tether-agent is not active"
pass "the device enrolled and its agent runs under its unit"

# ---- the specialist, on the host ----
cli_login
wait_online 30
# the packaged config, as edited above, names no file area
expect_contains "$(tether devices show "$SERIAL")" "services    http" "devices show lists the service"
out=$(tether session request "$SERIAL" --reason "TCK-123 logs" --files read 2>&1) &&
	fail "files asked of a device with no file areas were accepted: $out"
expect_contains "$out" "device $SERIAL offers no file areas" "files from a device that offers none are refused at request time"
setup_askpass "$SUPPORT_PW"
LPORT=$(free_port)
bg forward tether forward "$SERIAL" "$LPORT:http" --reason "TCK-123 pump alarm"
SESSION=$(pending_session_id)
agent_consent accept "$SESSION" >"$WORK/accept.log" 2>&1 ||
	fail "operator accept: $(cat "$WORK/accept.log")"
wait_port "$LPORT" 30
expect_contains "$(fetch "$LPORT")" "all systems nominal" \
	"the specialist reaches the device's page through the relay, after the operator's consent"

insd systemctl reload tether-server >>"$WORK/systemctl.log" 2>&1 || fail "systemctl reload tether-server"
wait_for 10 sh -c "nsenter -t $SD -m -p -r journalctl -u tether-server -o cat --no-pager |
	grep -q 'reload: log level from tether-server.conf applied'" || fail "the server's journal shows no reload"
[ "$(insd systemctl is-active tether-server)" = active ] || fail "tether-server not active after reload"
expect_contains "$(fetch "$LPORT")" "all systems nominal" "systemctl reload tether-server keeps the session"

# the journal has each daemon's lines, with their priorities
expect_contains "$(insd journalctl -u tether-agent -p info -o cat --no-pager)" "$SESSION" \
	"the agent's lines are in the journal"
expect_contains "$(insd journalctl -u tether-server -p info -o cat --no-pager)" "$SESSION" \
	"the server's lines are in the journal"
# A warning is filed as one: the relay stopped, the server's health check
# warns, and `journalctl -p warning` shows that line and no info line.
# (Without the priority prefixes journald files every line as info.)
insd systemctl stop tether-relay >>"$WORK/systemctl.log" 2>&1 || fail "systemctl stop tether-relay"
relay_down_warned() {
	insd journalctl -u tether-server -p warning -o cat --no-pager | grep -q 'relay relay-1 (.*) is down'
}
wait_for 60 relay_down_warned || fail "journalctl -p warning never showed the server's warning that relay-1 is down"
expect_not_contains "$(insd journalctl -u tether-server -p warning -o cat --no-pager)" "$SESSION" \
	"journalctl -p warning shows the server's warning and leaves out its info lines"
insd systemctl stop tether-agent tether-server >>"$WORK/systemctl.log" 2>&1 ||
	fail "systemctl stop: $(tail -3 "$WORK/systemctl.log")"
pass "systemctl stops all three"

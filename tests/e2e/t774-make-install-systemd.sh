#!/bin/sh
# README "Deploying it for real" from `make install PREFIX=/usr/local`, with
# systemctl: the install lands in a clean Debian 12 root (sd_root) that is
# then booted with systemd (sd_boot); there, as the README says,
# `systemd-sysusers && systemd-tmpfiles --create && systemctl daemon-reload`
# make the accounts, folders and units, the agent's config comes from the
# installed example, and the server and the agent run under the units from
# PREFIX (ExecStart naming /usr/local/bin). The device comes online for the
# specialist on the host. t773 does the same from the packages, in full.
if [ "$(id -u)" != 0 ]; then
	echo "[t774-make-install-systemd] skipped: booting systemd in a root needs root"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
# The libraries the programs need: the packages' Depends (dpkg-shlibdeps's
# answer for these binaries); nothing of tether itself goes in from them.
make_debs
R="$WORK/root"
# shellcheck disable=SC2086
sd_root "$R" $DEB_DEPS
make -C "$TETHER_SRC" install BUILT="$TETHER_BIN/.." PREFIX=/usr/local DESTDIR="$R" >"$WORK/install.log" 2>&1 ||
	fail "make install PREFIX=/usr/local: $(tail -3 "$WORK/install.log")"
grep -q '^tether' "$R/etc/passwd" && fail "the root has tether accounts before sysusers"
sd_boot "$R"

insd sh -c 'systemd-sysusers && systemd-tmpfiles --create && systemctl daemon-reload' \
	>"$WORK/setup.log" 2>&1 || fail "sysusers, tmpfiles, daemon-reload: $(cat "$WORK/setup.log")"
insd install -D -m 0640 -g tether /usr/local/share/doc/tether/examples/tether-agent.conf.example \
	/etc/tether/agent.conf || fail "install the example agent.conf"
for u in tether tether-support; do
	insd getent passwd "$u" >/dev/null || fail "systemd-sysusers made no $u account"
done
[ "$(insd stat -c '%a %U' /var/lib/tether-agent /var/lib/tether | sort -u)" = "700 tether" ] ||
	fail "systemd-tmpfiles: $(insd stat -c '%n %a %U' /var/lib/tether-agent /var/lib/tether)"
insd systemctl show -p ExecStart tether-agent | grep -q 'path=/usr/local/bin/tether-agent ' ||
	fail "the agent's unit does not run PREFIX's binary: $(insd systemctl show -p ExecStart tether-agent)"
pass "make install, then sysusers, tmpfiles and daemon-reload as the README says: accounts, 0700 tether folders, units running /usr/local/bin"

tsrv() { insd runuser -u tether -- tether-server "$@"; }
SERVER_PORT=$(free_port)
SRV="$R/var/lib/tether"
CA_FP=$(tsrv init /var/lib/tether --host 127.0.0.1 --listen "127.0.0.1:$SERVER_PORT" 2>"$WORK/init.log") ||
	fail "tsrv init: $(cat "$WORK/init.log")"
tsrv site add "$SITE" --customer "St Example Hospital" --contract-until "$(date_in_days 365)" \
	--dir /var/lib/tether >>"$WORK/init.log" 2>&1 || fail "site add: $(tail -3 "$WORK/init.log")"
tsrv product add injector --dir /var/lib/tether >>"$WORK/init.log" 2>&1 || fail "product add"
tsrv user add "$SPEC_USER" --role specialist --level 2 --region US --dir /var/lib/tether \
	>"$WORK/code-$SPEC_USER" 2>>"$WORK/init.log" || fail "user add: $(tail -3 "$WORK/init.log")"
insd systemctl enable --now tether-server >>"$WORK/systemctl.log" 2>&1 ||
	fail "systemctl enable --now tether-server: $(tail -3 "$WORK/systemctl.log")"
wait_port "$SERVER_PORT"

token=$(tsrv device add "$SERIAL" --customer "St Example Hospital" --product injector \
	--site "$SITE" --dir /var/lib/tether 2>>"$WORK/init.log") || fail "device add: $(tail -3 "$WORK/init.log")"
sed -i -e "s#^server = .*#server = https://127.0.0.1:$SERVER_PORT#" -e "s#^serial = .*#serial = $SERIAL#" \
	-e 's#^files.logs = .*##' "$R/etc/tether/agent.conf"
insd tether-agent enroll --config /etc/tether/agent.conf --token "$token" --ca-fingerprint "$CA_FP" \
	>"$WORK/enroll.log" 2>&1 || fail "enroll: $(cat "$WORK/enroll.log")"
expect_contains "$(cat "$WORK/enroll.log")" "support password" "enroll prints the generated support password once"
insd chown -R tether: /var/lib/tether-agent
insd systemctl enable --now tether-agent >>"$WORK/systemctl.log" 2>&1 ||
	fail "systemctl enable --now tether-agent: $(tail -3 "$WORK/systemctl.log")"
cli_login
wait_online 30
pass "the server and the agent from make install run under their units; the device is online for the specialist"

# A bad config does not restart forever: RestartSec=5, and the fifth
# failure within StartLimitIntervalSec=120 leaves the unit failed.
sed -i 's#^server = .*#server = not-a-url#' "$R/etc/tether/agent.conf"
insd systemctl restart tether-agent >>"$WORK/systemctl.log" 2>&1 && fail "the agent started with server = not-a-url"
# (systemd 252 keeps Result=exit-code then; the journal says why it stopped)
agent_limit_hit() {
	insd journalctl -u tether-agent -o cat --no-pager | grep -q 'Start request repeated too quickly'
}
wait_for 90 agent_limit_hit || fail "the agent's unit never reached its start limit"
[ "$(insd systemctl is-active tether-agent)" = failed ] || fail "the agent's unit is not failed at its start limit"
n=$(insd systemctl show -p NRestarts --value tether-agent)
sleep 6    # RestartSec=5: a restart after the limit would show now
[ "$(insd systemctl show -p NRestarts --value tether-agent)" = "$n" ] &&
	[ "$(insd systemctl is-active tether-agent)" = failed ] || fail "the agent's unit restarted past its start limit"
expect_contains "$(insd journalctl -u tether-agent -o cat --no-pager)" "server = not-a-url: must start with https://" \
	"the journal says what is wrong with the config"
pass "a bad config: the unit restarts the agent, then stays failed at its start limit"
insd systemctl stop tether-server >>"$WORK/systemctl.log" 2>&1 || fail "systemctl stop"

# lib.sh: the e2e harness. Source it from a tNNN-*.sh test.
#
# It builds a throwaway deployment under $WORK with the real binaries on
# loopback, on ports picked at run time, and stops everything on exit.
# Every wait is bounded in tries and seconds.
set -eu

: "${TETHER_BIN:?set TETHER_BIN to the folder holding the built binaries}"
: "${TETHER_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
export PATH="$TETHER_BIN:$PATH"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tether-e2e.XXXXXX")
export TETHER_HOME="$WORK/cli"
PIDS=""
TEST_NAME=$(basename "$0" .sh)
PORT_LOCKS="${TMPDIR:-/tmp}/tether-e2e-ports"	# see free_port

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }

cleanup() {
	rc=$?
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null || true
	done
	if [ $rc -ne 0 ] && [ $rc -ne "$SKIP_RC" ]; then
		log "FAILED (exit $rc); logs follow"
		for f in "$WORK"/*.log; do
			[ -f "$f" ] || continue
			echo "----- $f (last 40 lines)" >&2
			tail -40 "$f" >&2
			# A sanitizer report names where the fault was made
			# only in its stack traces, which the tail cuts.
			if grep -q '^==[0-9]*==ERROR:' "$f"; then
				echo "----- $f (sanitizer report)" >&2
				sed -n '/^==[0-9]*==ERROR:/,$p' "$f" | head -400 >&2
			fi
		done
		[ -z "${FAIL_WHY:-}" ] || log "FAILED: $FAIL_WHY"
	fi
	rm -rf "$WORK"
	port_release_all
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ctest's SKIP_RETURN_CODE for every e2e test (tests/e2e/CMakeLists.txt):
# a test that cannot run here says why and exits with it, never with 0.
SKIP_RC=77
# The reason is said again after the logs (cleanup): a CI log that keeps
# only its head and tail still shows which check failed.
# FAIL_HOOK, when set, is run first (sd_boot's saves the root's journal).
fail() {
	FAIL_WHY=$*
	[ -z "${FAIL_HOOK:-}" ] || $FAIL_HOOK || true
	log "FAIL: $*"; exit 1
}
skip() { log "SKIP: $*"; exit "$SKIP_RC"; }
pass() { log "ok: $*"; }

# expect_contains TEXT NEEDLE WHAT
expect_contains() {
	case "$1" in
	*"$2"*) pass "$3" ;;
	*) printf '%s\n' "$1" >&2; fail "$3: expected to find '$2'" ;;
	esac
}
expect_not_contains() {
	case "$1" in
	*"$2"*) printf '%s\n' "$1" >&2; fail "$3: did not expect '$2'" ;;
	*) pass "$3" ;;
	esac
}

# A free TCP port on loopback, below the kernel's ephemeral range: a port in
# that range can be taken between the pick and the listen by any outgoing
# connection of a test running alongside (t500 and t660 open thousands).
# Nothing listens on a picked port until its daemon starts, so ss alone
# cannot stop the same port being handed out twice, to this test (the
# server's port given again as a relay's) or to one running alongside: each
# pick is reserved by an atomic mkdir under $PORT_LOCKS, owned by this test's
# pid, and released on exit. A reservation whose owner is gone is taken over.
port_reserve() {
	[ -d "$PORT_LOCKS" ] || mkdir -m 1777 "$PORT_LOCKS" 2>/dev/null || true
	if mkdir "$PORT_LOCKS/$1" 2>/dev/null; then
		echo "$$" >"$PORT_LOCKS/$1/owner"
		return 0
	fi
	owner=$(cat "$PORT_LOCKS/$1/owner" 2>/dev/null || echo)
	# no owner yet: another test is between its mkdir and its write
	[ -n "$owner" ] || return 1
	kill -0 "$owner" 2>/dev/null && return 1
	rm -rf "$PORT_LOCKS/$1"
	mkdir "$PORT_LOCKS/$1" 2>/dev/null || return 1
	echo "$$" >"$PORT_LOCKS/$1/owner"
}
port_release_all() {
	for d in "$PORT_LOCKS"/*; do
		[ -f "$d/owner" ] || continue
		[ "$(cat "$d/owner" 2>/dev/null)" = "$$" ] && rm -rf "$d"
	done
	return 0
}
free_port() {
	i=0
	eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$eph" -gt 12000 ] 2>/dev/null || eph=32768
	while [ $i -lt 100 ]; do
		p=$((10000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % (eph - 10000)))
		if [ -z "$(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null)" ] &&
			port_reserve "$p"; then
			echo "$p"
			return 0
		fi
		i=$((i + 1))
	done
	fail "no free port found"
}

# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT.
wait_port() {
	i=0
	limit=$(( ${2:-20} * 10 ))
	while [ $i -lt $limit ]; do
		if [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; then return 0; fi
		sleep 0.1
		i=$((i + 1))
	done
	fail "nothing listening on port $1 after ${2:-20}s"
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
	secs=$1; shift
	i=0
	while [ $i -lt $((secs * 10)) ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# webhook_receiver DIR FILE: write to FILE an HTTP receiver for socat's EXEC
# (one process per connection). It saves request N's body as DIR/N.body,
# then records the status it answers (DIR/status, else 204) as DIR/N.answer
# and the request head as DIR/N.head, which therefore comes last.
webhook_receiver() {
	cat >"$2" <<RCV
#!/bin/sh
n=\$(ls "$1" | grep -c '\.head\$' || true)
n=\$((n + 1))
len=0
i=0
while [ \$i -lt 50 ] && IFS= read -r line; do
	line=\$(printf '%s' "\$line" | tr -d '\r')
	[ -n "\$line" ] || break
	printf '%s\n' "\$line" >>"$1/\$n.part"
	case "\$line" in [Cc]ontent-[Ll]ength:*) len=\$(printf '%s' "\${line#*:}" | tr -dc 0-9) ;; esac
	i=\$((i + 1))
done
head -c "\$len" >"$1/\$n.tmp"
mv "$1/\$n.tmp" "$1/\$n.body"
code=\$(cat "$1/status" 2>/dev/null || echo 204)
echo "\$code" >"$1/\$n.answer"
mv "$1/\$n.part" "$1/\$n.head"
printf 'HTTP/1.1 %s X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "\$code"
RCV
	chmod 755 "$2"
}

# bg NAME COMMAND...: start a process in the background, logging to $WORK/NAME.log.
bg() {
	name=$1; shift
	"$@" >"$WORK/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "PID_$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_')=$!"
}

random_password() { openssl rand -base64 24 | tr -d '/+=\n' | cut -c1-24; }

SRV="$WORK/srv"
SPEC_USER=alice
SPEC_PW=$(random_password)
SUPPORT_PW=$(random_password)
SERIAL=SN-0001
SITE=st-example

# date_in_days N: the UTC date N days from today (negative: past), YYYY-MM-DD.
date_in_days() { date -u -d "$1 days" +%Y-%m-%d; }

# deploy [NRELAYS]: server + relays, one specialist, one registered device.
deploy() {
	nrelays=${1:-2}
	SERVER_PORT=$(free_port)
	# stdout carries the root CA fingerprint alone; the narrative goes to stderr
	CA_FP=$(tether-server init "$SRV" --listen "127.0.0.1:$SERVER_PORT" 2>"$WORK/init.log") ||
		fail "tether-server init: $(cat "$WORK/init.log")"
	[ -n "$CA_FP" ] || fail "init printed no CA fingerprint"
	if [ -n "${CONSENT_TIMEOUT_S:-}" ]; then
		sed -i "s/^#* *consent_timeout_s *=.*/consent_timeout_s = $CONSENT_TIMEOUT_S/" "$SRV/tether-server.conf"
	fi
	RELAYS=""
	n=1
	while [ $n -le "$nrelays" ]; do
		dp=$(free_port); cp=$(free_port)
		tether-server relay add "relay-$n" --host 127.0.0.1 --device-port "$dp" \
			--client-port "$cp" --dir "$SRV" >>"$WORK/init.log" 2>&1 ||
			fail "relay add: $(tail -3 "$WORK/init.log")"
		RELAYS="$RELAYS relay-$n"
		eval "RELAY_${n}_DEVICE_PORT=$dp RELAY_${n}_CLIENT_PORT=$cp"
		n=$((n + 1))
	done
	# one customer site with a year of contract; devices are registered there
	tether-server site add "$SITE" --customer "St Example Hospital" \
		--contract-until "$(date_in_days 365)" --dir "$SRV" >>"$WORK/init.log" 2>&1 ||
		fail "site add: $(tail -3 "$WORK/init.log")"
	add_user_pw "$SPEC_USER" "$SPEC_PW" specialist "${SPEC_LEVEL:-2}"
	tether-server user certify "$SPEC_USER" --product injector --until "$(date_in_days 365)" \
		--dir "$SRV" >>"$WORK/init.log" 2>&1 || fail "user certify: $(tail -3 "$WORK/init.log")"
	# SERVER_EXTRA_CONF (lines) is appended to tether-server.conf
	[ -z "${SERVER_EXTRA_CONF:-}" ] || printf '%s\n' "$SERVER_EXTRA_CONF" >>"$SRV/tether-server.conf"
	# SESSION_LIMITS="MAX_S IDLE_S": the policy's session limits (see below)
	if [ -n "${SESSION_LIMITS:-}" ]; then
		# shellcheck disable=SC2086
		set_session_limits $SESSION_LIMITS
	fi
	start_daemons
}

# start_daemons: the server and every relay of the deployment, each serving.
start_daemons() {
	bg server tether-server run --dir "$SRV"
	wait_port "$SERVER_PORT"
	n=1
	for r in $RELAYS; do
		bg "$r" tether-relay run --config "$SRV/relays/$r/tether-relay.conf"
		eval "wait_port \$RELAY_${n}_DEVICE_PORT"
		n=$((n + 1))
	done
	# The server checks relays in the background; one it checked before the
	# relay listened stays "down" until its next check. Sessions are asked
	# for once the server has seen every relay up.
	for r in $RELAYS; do
		wait_relay_up "$r"
	done
}

# wait_relay_up NAME [LOG] / wait_relay_down NAME [LOG]: until the server's
# background check last saw relay NAME up (down): its last health line in
# LOG (default the first server's log). The last line, not any line: a relay
# is often seen down once at start, before it listens.
wait_relay_up() { wait_relay_state "$1" up "${2:-$WORK/server.log}"; }
wait_relay_down() { wait_relay_state "$1" down "${2:-$WORK/server.log}"; }
wait_relay_state() {
	wait_for 30 sh -c "grep -E 'relay $1 \\(.*\\) is (up|down)' '$3' | tail -1 | grep -q 'is $2'" ||
		fail "the server never saw $1 $2: $(grep -E "relay $1 \(.*\) is (up|down)" "$3" | tail -1)"
}

# restart_server: stop the running tether-server and start it again (to
# pick up an edited tether-server.conf).
restart_server() {
	kill "$PID_server" 2>/dev/null || true
	i=0
	while kill -0 "$PID_server" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	bg server-2 tether-server run --dir "$SRV"
	PID_server=$PID_server_2
	wait_port "$SERVER_PORT"
}

# set_server_conf KEY VALUE: set (or add) a key in tether-server.conf.
set_server_conf() {
	if grep -q "^#* *$1 *=" "$SRV/tether-server.conf"; then
		sed -i "s/^#* *$1 *=.*/$1 = $2/" "$SRV/tether-server.conf"
	else
		printf '%s = %s\n' "$1" "$2" >>"$SRV/tether-server.conf"
	fi
}

# enroll_token SERIAL: register a device and print its one-time token.
enroll_token() {
	# stdout carries the token alone
	tether-server device add "$1" --customer "St Example Hospital" \
		--product injector --site "${2:-$SITE}" --dir "$SRV" 2>>"$WORK/init.log" ||
		fail "device add $1 failed"
}

# start_device_service: a small HTTP status page on loopback, the device's own
# service that specialists reach through the tunnel.
start_device_service() {
	SERVICE_PORT=$(free_port)
	cat >"$WORK/status-page" <<PAGE
#!/bin/sh
# read the request head (bounded) before answering, so socat never writes
# into a closed pipe
n=0
while [ \$n -lt 50 ] && IFS= read -r line; do
	case "\$line" in ''|"\$(printf '\\r')") break ;; esac
	n=\$((n + 1))
done
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n'
printf 'device $SERIAL status page: all systems nominal\n'
PAGE
	chmod 755 "$WORK/status-page"
	bg device-service socat "TCP-LISTEN:$SERVICE_PORT,bind=127.0.0.1,reuseaddr,fork" \
		"EXEC:$WORK/status-page"
	wait_port "$SERVICE_PORT"
}

# As root the agent runs its network part as `user` and every shell,
# diagnostic and SFTP server as support_user, both real accounts: the
# harness makes them once per host (tether-e2e, and support, the name the
# tests log in as), under a lock because tests run in parallel. $WORK is
# then 0711 so they can pass through it, as through /var/lib on a device.
E2E_AGENT_USER=tether-e2e
e2e_accounts() {
	[ "$(id -u)" = 0 ] || return 0
	(
		flock 9
		for u in "$E2E_AGENT_USER" support; do
			id "$u" >/dev/null 2>&1 ||
				useradd --system --no-create-home --shell /bin/sh "$u" ||
				fail "cannot create the account $u"
		done
	) 9>/tmp/tether-e2e-accounts.lock
	chmod 711 "$WORK"
}

# attack_targets MON NET [PID...]: what tests/e2e/helpers/attack-agent.sh
# knows of the agent, in $WORK/targets (readable by the support user).
attack_targets() {
	cat >"$WORK/targets" <<T
STATE=$AGENT_DIR/state
SOCK=$AGENT_DIR/consent.sock
PIDS="$*"
CONTROL=$WORK/control.txt
T
	chmod 644 "$WORK/targets"
}

# attack_check OUT WHERE MON NET: every attempt of the attack refused, none
# succeeded, and the agent (monitor MON, network part NET) still runs with
# an audit chain that verifies and has not shrunk below $records_before.
attack_check() {
	printf '%s\n' "$1" >"$WORK/attack.$2"
	expect_contains "$1" "attack-done" "the attack ran to its end in the $2"
	expect_contains "$1" "control: visible" "the $2 can read ordinary files"
	expect_not_contains "$1" "BREACH" "nothing of the agent's is reachable from the $2"
	n=$(printf '%s\n' "$1" | grep -c '^refused:')
	[ "$n" -ge 16 ] || fail "only $n attempts were made from the $2"
	pass "$n attempts from the $2, each refused"
	kill -0 "$3" && kill -0 "$4" || fail "the agent died after the $2's attack"
	tether-agent audit verify --config "$AGENT_DIR/tether-agent.conf" >/dev/null ||
		fail "device audit chain broken"
	[ "$(wc -l <"$AGENT_DIR/state/audit.log")" -ge "$records_before" ] || fail "audit.log shrank"
	pass "the agent still runs and its audit chain verifies"
}

# device_files DIR...: as root, SFTP runs as support_user, which needs to
# own the folders a test lets it change (as on a device, where the files.*
# areas that take uploads belong to the support account).
device_files() {
	[ "$(id -u)" = 0 ] || return 0
	e2e_accounts
	chown -R support: "$@"
}

# agent_setup SERIAL: write an agent config, enroll, and start the agent.
# AGENT_PROXY, when set, becomes the agent's `proxy` key; AGENT_EXTRA_CONF
# (lines) is appended to the config (shell, files.*, patient_data.*, diag.*).
# As root, `user = tether-e2e` (AGENT_USER overrides it) owns the state.
# AGENT_WRAPPER (words) runs before tether-agent, e.g. unitexec (the systemd
# unit's sandbox, tests/harness/README.md).
AGENT_DIR="$WORK/agent"
agent_setup() {
	serial=$1
	mkdir -p "$AGENT_DIR"
	e2e_accounts
	agent_user=""
	[ "$(id -u)" = 0 ] && agent_user=${AGENT_USER:-$E2E_AGENT_USER}
	cat >"$AGENT_DIR/tether-agent.conf" <<CONF
server = https://127.0.0.1:$SERVER_PORT
serial = $serial
state_dir = $AGENT_DIR/state
consent_socket = $AGENT_DIR/consent.sock
consent_timeout_s = ${AGENT_CONSENT_TIMEOUT_S:-120}
longpoll = ${AGENT_LONGPOLL:-yes}
poll_interval_s = ${AGENT_POLL_INTERVAL_S:-30}
support_user = support
service.http = 127.0.0.1:${SERVICE_PORT:-8080}
${AGENT_PROXY:+proxy = $AGENT_PROXY}
${agent_user:+user = $agent_user}
${AGENT_EXTRA_CONF:-}
CONF
	token=$(enroll_token "$serial")
	[ -n "$token" ] || fail "no enrollment token printed"
	printf '%s\n' "$SUPPORT_PW" >"$WORK/support-pw"
	tether-agent enroll --config "$AGENT_DIR/tether-agent.conf" --token "$token" \
		--ca-fingerprint "$CA_FP" --support-password-file "$WORK/support-pw" \
		>"$WORK/enroll.log" 2>&1 || fail "enroll: $(cat "$WORK/enroll.log")"
	[ -z "$agent_user" ] || chown -R "$agent_user:" "$AGENT_DIR/state"
	# shellcheck disable=SC2086
	bg "${AGENT_NAME:-agent}" ${AGENT_WRAPPER:-} tether-agent run --config "$AGENT_DIR/tether-agent.conf"
}

agent_consent() { tether-agent consent "$@" --config "$AGENT_DIR/tether-agent.conf"; }

# wait_consent_pending SESSION: until the operator's list shows it.
wait_consent_pending() {
	wait_for 30 sh -c "tether-agent consent list --config '$AGENT_DIR/tether-agent.conf' | grep -q '$1'" ||
		fail "session $1 never reached the operator's consent list"
}

# add_user_pw NAME PASSWORD [ROLE] [LEVEL]: an account, region US, whose
# user will choose PASSWORD; add_user (below) picks a random one. The
# administrator only gets a one-time enrollment code ($WORK/code-NAME);
# user_enroll spends it (mfa_enroll does so first), once the server runs.
add_user_pw() {
	tether-server user add "$1" --role "${3:-specialist}" --level "${4:-2}" --region US \
		--dir "$SRV" >"$WORK/code-$1" 2>>"$WORK/init.log" ||
		fail "user add $1: $(tail -3 "$WORK/init.log")"
	[ -s "$WORK/code-$1" ] || fail "user add $1 printed no enrollment code"
}

# user_enroll NAME PASSWORD [TETHER_HOME]: `tether enroll` with the code in
# $WORK/code-NAME (from the environment, never argv), choosing PASSWORD;
# leaves a setup login in TETHER_HOME. Nothing to do once the code is spent.
# A test that enrolls more than the server's burst (ratelimit.enroll_burst,
# 10 per address, the device's enrollment included) waits as told, as a
# person would, at most 3 times.
user_enroll() {
	[ -f "$WORK/code-$1" ] || return 0
	ue_try=0
	until TETHER_HOME="${3:-$TETHER_HOME}" TETHER_ENROLL_CODE="$(cat "$WORK/code-$1")" \
		TETHER_PASSWORD="$2" tether enroll --server "https://127.0.0.1:$SERVER_PORT" \
		--ca "$SRV/ca/root.crt" --user "$1" >"$WORK/enroll.$1.log" 2>&1; do
		ue_wait=$(sed -n 's/.*try again in \([0-9]*\) s (rate_limited.*/\1/p' "$WORK/enroll.$1.log")
		ue_try=$((ue_try + 1))
		[ -n "$ue_wait" ] && [ "$ue_wait" -le 60 ] && [ $ue_try -le 3 ] ||
			fail "enroll $1: $(cat "$WORK/enroll.$1.log")"
		log "enroll $1: rate limited; waiting $ue_wait s as the server asks"
		sleep $((ue_wait + 1))
	done
	rm -f "$WORK/code-$1"
}

# totp_code USER: a one-time code for USER's secret ($WORK/totp.USER) on a
# 30 s step never used before for USER (the server refuses a step at or
# below the last it accepted). Takes the step before now while it stays
# good for 2 s more, else now or the next one (clock drift of one step is
# accepted), else waits for the next period. The last step is kept in
# $WORK/totp.USER.step.
totp_code() {
	[ -f "$WORK/totp.$1" ] || fail "totp_code: no TOTP secret for $1 (mfa_enroll first)"
	last=$(cat "$WORK/totp.$1.step" 2>/dev/null || echo 0)
	i=0
	while :; do
		t=$(date +%s)
		now=$((t / 30))
		if [ $((now - 1)) -gt "$last" ] && [ $((t % 30)) -lt 28 ]; then
			step=$((now - 1))
		else
			step=$((last + 1))
			[ "$step" -ge "$now" ] || step=$now
		fi
		[ "$step" -gt $((now + 1)) ] || break
		[ $i -lt 350 ] || fail "totp_code: no fresh step for $1 within 35 s"
		sleep 0.1
		i=$((i + 1))
	done
	echo "$step" >"$WORK/totp.$1.step"
	oathtool --totp -b "$(cat "$WORK/totp.$1")" -N "@$((step * 30))"
}

# mfa_enroll USER PASSWORD [TETHER_HOME]: the enrollment code (user_enroll),
# the first login (a setup-only login, exit 3), `tether mfa enroll --json`,
# then `tether mfa confirm` with a code from oathtool on stdin. Keeps the
# secret in $WORK/totp.USER and the recovery codes in
# $WORK/recovery.USER.json; leaves a full login in TETHER_HOME.
mfa_enroll() {
	home=${3:-$TETHER_HOME}
	user_enroll "$1" "$2" "$home"
	rc=0
	TETHER_HOME="$home" TETHER_PASSWORD="$2" tether login --server "https://127.0.0.1:$SERVER_PORT" \
		--ca "$SRV/ca/root.crt" --user "$1" >"$WORK/login.$1.log" 2>&1 || rc=$?
	[ "$rc" -eq 3 ] || fail "first login of $1 exited $rc, want 3 (setup): $(cat "$WORK/login.$1.log")"
	TETHER_HOME="$home" tether --json mfa enroll >"$WORK/mfa.$1.json" 2>>"$WORK/login.$1.log" ||
		fail "mfa enroll $1: $(cat "$WORK/login.$1.log")"
	jq -r .secret "$WORK/mfa.$1.json" >"$WORK/totp.$1"
	rm -f "$WORK/totp.$1.step" "$WORK/mfa.$1.json"
	totp_code "$1" | TETHER_HOME="$home" tether --json mfa confirm >"$WORK/recovery.$1.json" \
		2>>"$WORK/login.$1.log" || fail "mfa confirm $1: $(cat "$WORK/login.$1.log")"
}

# cli_login: log the specialist in (enrolling TOTP the first time).
cli_login() {
	if [ ! -f "$WORK/totp.$SPEC_USER" ]; then
		mfa_enroll "$SPEC_USER" "$SPEC_PW"
		return
	fi
	code=$(totp_code "$SPEC_USER")
	TETHER_PASSWORD="$SPEC_PW" TETHER_TOTP="$code" tether login \
		--server "https://127.0.0.1:$SERVER_PORT" --ca "$SRV/ca/root.crt" \
		--user "$SPEC_USER" >"$WORK/login.log" 2>&1 || fail "login: $(cat "$WORK/login.log")"
}

# add_user NAME ROLE [LEVEL] [REGION] [SITE]: a user whose password is in
# $WORK/pw-NAME (specialists are certified for injector for a year).
add_user() {
	random_password >"$WORK/pw-$1"
	tether-server user add "$1" --role "$2" --level "${3:-1}" --region "${4:-US}" \
		${5:+--site "$5"} --dir "$SRV" >"$WORK/code-$1" 2>>"$WORK/init.log" ||
		fail "user add $1: $(tail -3 "$WORK/init.log")"
	if [ "$2" = specialist ]; then
		tether-server user certify "$1" --product injector --until "$(date_in_days 365)" \
			--dir "$SRV" >>"$WORK/init.log" 2>&1 || fail "user certify $1"
	fi
}

# login_user NAME: log NAME (made by add_user) in, in its own TETHER_HOME
# $WORK/home-NAME; api_as NAME ... then calls the API as that user.
login_user() {
	mkdir -p "$WORK/home-$1"
	if [ ! -f "$WORK/totp.$1" ]; then
		mfa_enroll "$1" "$(cat "$WORK/pw-$1")" "$WORK/home-$1"
		return
	fi
	TETHER_HOME="$WORK/home-$1" TETHER_PASSWORD="$(cat "$WORK/pw-$1")" \
		TETHER_TOTP="$(totp_code "$1")" tether login \
		--server "https://127.0.0.1:$SERVER_PORT" --ca "$SRV/ca/root.crt" --user "$1" \
		>"$WORK/login-$1.log" 2>&1 || fail "login $1: $(cat "$WORK/login-$1.log")"
}

# api_as NAME METHOD PATH [JSON]: as api, for a user logged in by login_user.
api_as() {
	who=$1; shift
	token=$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$WORK/home-$who/cli.json")
	curl -sS --cacert "$SRV/ca/root.crt" -X "$1" -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' ${3:+--data "$3"} \
		"https://127.0.0.1:$SERVER_PORT$2"
}

# forward_session USER ID LOCALPORT: for a session USER (login_user) already
# has, consented by the operator, forward LOCALPORT to the device's http
# service with ssh through `tether connect` (what `tether forward` does after
# its own request); returns when the local port forwards.
forward_session() {
	home="$WORK/home-$1"
	hostkey=$(api_as "$1" GET "/api/v1/devices/$SERIAL" |
		sed -n 's/.*"ssh_hostkey": *"\([^"]*\)".*/\1/p')
	[ -n "$hostkey" ] || fail "no ssh host key for $SERIAL"
	printf 'tether-%s %s\n' "$SERIAL" "$hostkey" >"$WORK/known_hosts-$1"
	setup_askpass
	bg "forward-$1" env TETHER_HOME="$home" ssh -N -o ExitOnForwardFailure=yes \
		-L "127.0.0.1:$3:127.0.0.1:$SERVICE_PORT" \
		-o "ProxyCommand=$TETHER_BIN/tether connect $2" \
		-o "UserKnownHostsFile=$WORK/known_hosts-$1" -o StrictHostKeyChecking=yes \
		-o "HostKeyAlias=tether-$SERIAL" -o GlobalKnownHostsFile=/dev/null \
		-o UpdateHostKeys=no -o User=support "tether-$SERIAL"
	wait_port "$3" 30
}

# audit_has ACTION NEEDLE WHAT: the server's audit trail holds an ACTION
# record whose line contains NEEDLE.
audit_has() {
	tether-server audit list --dir "$SRV" 2>/dev/null | awk -v a="$1" '$4 == a' |
		grep -F -q -- "$2" || fail "$3: no audit record $1 with '$2'"
	pass "$3 (audited $1)"
}

# ssh password entry without a terminal: OpenSSH asks this program.
setup_askpass() {
	cat >"$WORK/askpass" <<ASK
#!/bin/sh
cat "$WORK/support-pw-try"
ASK
	chmod 700 "$WORK/askpass"
	printf '%s\n' "${1:-$SUPPORT_PW}" >"$WORK/support-pw-try"
	export SSH_ASKPASS="$WORK/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none
}

# session_state ID
session_state() { tether --json session status "$1" | sed -n 's/.*"state": *"\([a-z_]*\)".*/\1/p'; }

# wait_state ID STATE [SECONDS]: the server learns of a relay's start or end
# a moment after the bytes flow, so tests wait for it rather than race it.
wait_state() {
	wait_for "${3:-20}" sh -c "tether --json session status $1 | grep -q '\"state\": *\"$2\"'" ||
		fail "session $1 never reached state $2 (it is $(session_state "$1"))"
}

# full_stack: deployment, device service, enrolled agent, logged-in specialist.
full_stack() {
	deploy "${1:-2}"
	start_device_service
	agent_setup "$SERIAL"
	cli_login
	wait_online
}

# wait_online [SECONDS]: until the logged-in specialist sees the device online.
wait_online() {
	wait_for "${1:-20}" sh -c "tether --json devices | grep -q '\"online\": *true'" ||
		fail "device never came online"
}

# start_proxy PASSWORD PORT...: tinyproxy on loopback with Basic credentials
# $PROXY_USER:PASSWORD, allowed to CONNECT to the given ports only; sets
# PROXY_PORT and logs CONNECTs to $WORK/tinyproxy.log.
start_proxy() {
	pass=$1; shift
	PROXY_PORT=$(free_port)
	{
		printf 'Port %s\nListen 127.0.0.1\nTimeout 120\n' "$PROXY_PORT"
		printf 'LogFile "%s"\nLogLevel Connect\nMaxClients 20\n' "$WORK/tinyproxy.log"
		printf 'Allow 127.0.0.1\nBasicAuth %s %s\n' "$PROXY_USER" "$pass"
		for p in "$@"; do printf 'ConnectPort %s\n' "$p"; done
	} >"$WORK/tinyproxy.conf"
	bg tinyproxy-out tinyproxy -d -c "$WORK/tinyproxy.conf"
	wait_port "$PROXY_PORT"
}

# pending_session_id: the id of the request waiting at the operator's screen.
pending_session_id() {
	id=""
	i=0
	while [ -z "$id" ] && [ $i -lt 300 ]; do
		# Only a pending one: with a visit, a session the server ended stays
		# listed as active until the agent's ping hears of the end.
		id=$(agent_consent list 2>/dev/null | grep '^session [0-9a-f]\{32\}  \[pending' |
			grep -o '[0-9a-f]\{32\}' | head -1 || true)
		[ -n "$id" ] || sleep 0.1
		i=$((i + 1))
	done
	[ -n "$id" ] || fail "no session request reached the operator within 30s"
	echo "$id"
}

# start_forward LOCALPORT: `tether forward` in the background; the operator
# accepts; returns when the local port forwards.
start_forward() {
	setup_askpass "${2:-$SUPPORT_PW}"
	bg forward tether forward "$SERIAL" "$1:http" --reason "TCK-4711 pump alarm"
	SESSION=$(pending_session_id)
	agent_consent accept "$SESSION" >"$WORK/accept.log" 2>&1 ||
		fail "operator accept: $(cat "$WORK/accept.log")"
	wait_port "$1" 30
	wait_state "$SESSION" active
}

# fetch PORT: the device page through the tunnel.
fetch() { curl -sS --max-time 10 "http://127.0.0.1:$1/"; }

# agent_pids: the agent's monitor ($PID_agent) and every process below it
# (the network part, session workers, keepers and their children).
agent_pids() { pid_tree "$PID_agent"; }

# pid_ticks PID...: utime+stime of the processes, summed, in clock ticks
# (a process gone meanwhile counts 0).
pid_ticks() {
	_pt=0
	for _pp in "$@"; do
		# fields 14 and 15; the command name (field 2) may hold spaces
		_pk=$(sed 's/^.*) //' "/proc/$_pp/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		_pt=$((_pt + ${_pk:-0}))
	done
	echo "$_pt"
}

# pid_tree PID...: the processes and every one below them (at most 1000).
pid_tree() {
	_todo="$*"
	_all=""
	_n=0
	while [ -n "$(echo $_todo)" ] && [ $_n -lt 1000 ]; do
		# shellcheck disable=SC2086
		set -- $_todo
		_p=$1; shift; _todo="$*"
		_all="$_all $_p"
		_todo="$_todo $(pgrep -P "$_p" | tr '\n' ' ')"
		_n=$((_n + 1))
	done
	echo $_all
}

# listening_sockets PID: TCP/UDP sockets of PID that are in LISTEN state (or
# bound UDP), read from /proc. Prints one line per socket; empty means none.
# The agent is not dumpable, so only root can list its /proc/PID/fd: a list
# that cannot be read is an error here, never "no socket".
listening_sockets() {
	[ -d "/proc/$1" ] || return 0                 # gone meanwhile
	fds=$(ls -l /proc/"$1"/fd 2>/dev/null) || fds=""
	if [ -z "$fds" ] && [ -d "/proc/$1" ]; then
		echo "cannot read /proc/$1/fd (not root, or the process is not dumpable)"
		return 0
	fi
	inodes=$(printf '%s\n' "$fds" | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p')
	for ino in $inodes; do
		# tcp state 0A is LISTEN; any udp socket counts as listening
		awk -v ino="$ino" '$10 == ino && $4 == "0A" { print FILENAME ": " $0 }' \
			/proc/net/tcp /proc/net/tcp6
		awk -v ino="$ino" 'NR > 1 && $10 == ino { print FILENAME ": " $0 }' \
			/proc/net/udp /proc/net/udp6
	done
}

# listening_by_uid UID: TCP listeners and UDP sockets that uid owns, from
# /proc/net alone (it needs no access to any process).
listening_by_uid() {
	awk -v uid="$1" '$8 == uid && $4 == "0A" { print FILENAME ": " $0 }' /proc/net/tcp /proc/net/tcp6
	awk -v uid="$1" 'NR > 1 && $8 == uid { print FILENAME ": " $0 }' /proc/net/udp /proc/net/udp6
}

# api METHOD PATH [JSON]: call the server API as the logged-in specialist.
api() {
	token=$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$TETHER_HOME/cli.json")
	curl -sS --cacert "$SRV/ca/root.crt" -X "$1" -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' ${3:+--data "$3"} \
		"https://127.0.0.1:$SERVER_PORT$2"
}

# device_api STATE_DIR METHOD PATH [JSON]: call the server API as a device.
device_api() {
	curl -sS --cacert "$SRV/ca/root.crt" --cert "$1/device.crt" --key "$1/device.key" \
		-X "$2" -H 'Content-Type: application/json' ${4:+--data "$4"} \
		"https://127.0.0.1:$SERVER_PORT$3"
}

# relay_leg PORT PREAMBLE [CERT KEY]: open a TLS leg to a relay port, send one
# preamble line and print the relay's answer line.
relay_leg() {
	certargs=""
	[ -n "${3:-}" ] && certargs="-cert $3 -cert_chain $3 -key $4"
	rm -f "$WORK/leg.out" "$WORK/leg.done"
	: >"$WORK/leg.out"
	# stdin stays open until the relay has answered a line or hung up (then,
	# with -no_ign_eof, s_client closes): a wait on the answer, not a sleep
	# shellcheck disable=SC2086
	{ printf '%s\n' "$2"; wait_for 10 leg_answered; } | {
		timeout 10 openssl s_client -quiet -no_ign_eof -connect "127.0.0.1:$1" \
			-CAfile "$SRV/ca/root.crt" -verify_return_error -servername 127.0.0.1 \
			$certargs >"$WORK/leg.out" 2>"$WORK/s_client.err" || true
		touch "$WORK/leg.done"
	} || true
	head -1 "$WORK/leg.out"
}
leg_answered() { [ -f "$WORK/leg.done" ] || [ "$(wc -l <"$WORK/leg.out")" -ge 1 ]; }

# set_session_limits MAX_S IDLE_S: the policy's session limits (maximum
# duration and idle timeout, 0 for none), which the server puts into every
# ticket as "end" and "idle". Call it before starting the server.
set_session_limits() {
	touch "$SRV/policy.conf"
	sed -i '/^session\.max_duration_s *=/d; /^session\.idle_timeout_s *=/d' "$SRV/policy.conf"
	printf 'session.max_duration_s = %s\nsession.idle_timeout_s = %s\n' "$1" "$2" >>"$SRV/policy.conf"
}

# request_actions REASON ACTION...: ask for a session on $SERIAL granting
# these actions (and the device's services as forwards); prints its id.
request_actions() {
	reason=$1; shift
	acts=""
	for a in "$@"; do acts="$acts${acts:+,}\"$a\""; done
	api POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"$reason\",\"actions\":[$acts]}" |
		sed -n 's/.*"id": *"\([0-9a-f]*\)".*/\1/p'
}

# consent_session ID: the operator accepts; returns once it is consented.
consent_session() {
	wait_consent_pending "$1"
	agent_consent accept "$1" >"$WORK/accept.log" 2>&1 ||
		fail "operator accept: $(cat "$WORK/accept.log")"
	tether session wait "$1" --timeout 30 >/dev/null || fail "session $1 not consented"
}

# ssh_master ID: one OpenSSH connection to the device through `tether
# connect ID` (a session's client ticket is single-use), password from
# askpass (setup_askpass first); device_ssh then runs over it.
DEVICE_SSH_OPTS="-F /dev/null -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR -o User=support"
ssh_master() {
	# shellcheck disable=SC2086
	bg ssh-master ssh $DEVICE_SSH_OPTS -M -S "$WORK/ctl" -N \
		-o PreferredAuthentications=password -o ProxyCommand="tether connect $1" device
	# shellcheck disable=SC2086
	wait_for 30 ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O check device ||
		fail "ssh to the device never connected: $(cat "$WORK/ssh-master.log")"
}

# device_ssh ARGS...: ssh over the master connection, at most 20 s
# (the host is "device").
device_ssh() {
	# shellcheck disable=SC2086
	timeout 20 ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" "$@"
}

# agent_audit_detail ACTION: the detail (JSON) of each device audit record
# with this action, one per line.
agent_audit_detail() {
	jq -r --arg a "$1" 'select(.action == $a) | .detail' "$AGENT_DIR/state/audit.log"
}

# device_sftp NAME COMMAND: one sftp batch command over the session's master
# connection (ssh_master first), output in $WORK/sftp-NAME.out; 0 when sftp
# reports success.
device_sftp() {
	printf '%s\n' "$2" >"$WORK/batch-$1"
	# shellcheck disable=SC2086
	timeout 20 sftp $DEVICE_SSH_OPTS -o ControlPath="$WORK/ctl" -b "$WORK/batch-$1" device \
		>"$WORK/sftp-$1.out" 2>&1
}

# expect_shell_covered OUTPUT SECRET WHAT: OUTPUT of a shell command that
# ends with `echo probe-done`. Where this machine builds the patient-data
# cover (user namespaces), the shell ran and SECRET is not in OUTPUT;
# elsewhere the shell was refused, saying why.
expect_shell_covered() {
	if unshare -U -m -p -f -r --mount-proc true 2>/dev/null; then
		expect_contains "$1" "probe-done" "the shell ran ($3)"
		expect_not_contains "$1" "$2" "$3"
	else
		expect_not_contains "$1" "probe-done" "no shell ran without namespaces ($3)"
		expect_contains "$1" "patient data cannot be hidden" "the client is told why ($3)"
	fi
}

# --- clock (issue 8) ---
# Only the agent runs on a skewed clock, under libfaketime (Debian package
# faketime, in scripts/deps); server, relays and CLI keep the real one.

# faketime_wrapper OFFSET: the command prefix that runs a program with its
# wall clock moved by OFFSET (libfaketime's syntax: -1h, +1h, -10, -2d);
# the monotonic clock is left alone. ASAN must not insist on coming first.
faketime_wrapper() {
	lib=""
	for d in /usr/lib/*/faketime /usr/lib/faketime /usr/local/lib/faketime; do
		[ -f "$d/libfaketimeMT.so.1" ] && { lib="$d/libfaketimeMT.so.1"; break; }
	done
	[ -n "$lib" ] || skip "libfaketime not installed (scripts/deps installs faketime)"
	echo "env LD_PRELOAD=$lib FAKETIME=$1 DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0"
}

# skewed_stack OFFSET: full_stack with the agent's clock moved by OFFSET.
skewed_stack() {
	AGENT_WRAPPER=$(faketime_wrapper "$1")
	export AGENT_WRAPPER
	full_stack 2
}

# skewed_session: one forwarded session with the operator's consent; the
# device page must arrive through it, then the session ends.
skewed_session() {
	lport=$(free_port)
	start_forward "$lport"
	page=$(fetch "$lport")
	expect_contains "$page" "device $SERIAL status page: all systems nominal" \
		"device page fetched through the tunnel (${1:-skewed clock})"
	kill "$PID_forward"
	wait_state "$SESSION" ended
}

# device_offset: the clock offset (server minus device, s) the server holds
# for $SERIAL, as `tether --json devices` shows it ("null": none).
device_offset() {
	tether --json devices | jq -r --arg s "$SERIAL" '.devices[]? // .[]? | select(.serial == $s) | .clock_offset_s'
}

# wait_clock_reported: until the server holds the agent's clock offset.
wait_clock_reported() {
	wait_for 20 sh -c "tether --json devices | grep -q '\"clock_offset_s\": *-\\{0,1\\}[0-9]'" ||
		fail "the agent never reported its clock offset"
}

# --- signals (issue 8) ---
# api_code METHOD PATH: the HTTP status of an API call as the logged-in
# specialist (api's output goes to $WORK/api_code.body).
api_code() {
	token=$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$TETHER_HOME/cli.json")
	curl -sS -o "$WORK/api_code.body" -w '%{http_code}' --max-time 20 \
		--cacert "$SRV/ca/root.crt" -X "$1" -H "Authorization: Bearer $token" \
		"https://127.0.0.1:$SERVER_PORT$2"
}

# wait_log FILE NEEDLE [SECONDS]: until FILE holds a line with NEEDLE.
wait_log() {
	wait_for "${3:-20}" grep -F -q -- "$2" "$1" ||
		fail "no line with '$2' in $(basename "$1") within ${3:-20} s"
}

# log_lines FILE NEEDLE: how many lines of FILE hold NEEDLE (0 if none).
log_lines() { grep -F -c -- "$2" "$1" 2>/dev/null || true; }

# under_notifyd NAME WATCHDOG_MS COMMAND...: run COMMAND in the background
# under tests/harness/notifyd (systemd's Type=notify, WatchdogSec and
# Restart=on-failure); its events go to $WORK/NAME.notify, the daemon's
# output to $WORK/NAME.log, the current main pid to $WORK/NAME.pid.
under_notifyd() {
	nname=$1; nwd=$2; shift 2
	notifyd --socket "@tether-e2e-$$-$nname" --watchdog-ms "$nwd" --restarts 3 \
		--restart-ms 500 --pidfile "$WORK/$nname.pid" -- "$@" \
		>"$WORK/$nname.notify" 2>"$WORK/$nname.log" &
	PIDS="$PIDS $!"
	eval "PID_$(echo "$nname" | tr -c 'a-zA-Z0-9\n' '_')=$!"
}

# notify_count NAME LINE: how many times the daemon under notifyd NAME sent LINE.
notify_count() { grep -c -- ": $2\$" "$WORK/$1.notify" 2>/dev/null || true; }

# --- storage (issue 8) ---

# http_status OUT METHOD PATH [JSON]: as api, but the body goes to OUT, the
# headers to OUT.hdr, and the HTTP status is printed.
http_status() {
	out=$1; shift
	token=$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$TETHER_HOME/cli.json")
	curl -sS --max-time 20 --cacert "$SRV/ca/root.crt" -X "$1" \
		-H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		${3:+--data "$3"} -D "$out.hdr" -o "$out" -w '%{http_code}' \
		"https://127.0.0.1:$SERVER_PORT$2"
}

# db_lock SECONDS: another process holds the server database's write lock
# (BEGIN EXCLUSIVE) for SECONDS in the background; returns once it holds
# it. $WORK/db-lock.done appears when it let go.
db_lock() {
	rm -f "$WORK/db-lock.held" "$WORK/db-lock.done"
	bg db-lock python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))
c.execute("ROLLBACK")
c.close()
open(sys.argv[4], "w").close()
' "$SRV/tether.db" "$WORK/db-lock.held" "$1" "$WORK/db-lock.done"
	wait_for 15 test -f "$WORK/db-lock.held" || fail "could not lock the database"
}

# tmpfs_mount DIR SIZE: a tmpfs of SIZE (mount's size=) at DIR, unmounted
# when the test ends; skips the test where mounting is not permitted.
TMPFS_MOUNTS=""
tmpfs_mount() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" 2>/dev/null ||
		skip "cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)"
	TMPFS_MOUNTS="$TMPFS_MOUNTS $1"
	# lazy: the daemons that still hold files in it are stopped by cleanup
	trap 'rc=$?; for m in $TMPFS_MOUNTS; do umount -l "$m" 2>/dev/null || true; done; (exit $rc); cleanup' EXIT
}

# fill_disk DIR: write zeros to DIR/filler until the file system is full.
fill_disk() {
	dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null || true
	dd if=/dev/zero of="$1/filler2" bs=1k 2>/dev/null || true
	[ "$(df --output=avail "$1" | tail -1)" -eq 0 ] || fail "$1 is not full"
}

# --- relayfault (issue 8) ---

# load_start PORT: background load until load_stop: fetches through the
# tunnel on local PORT and device listings from the server (each bounded by
# curl's and tether's own timeouts; at most 2000 rounds).
load_start() {
	cat >"$WORK/load.sh" <<LOAD
i=0
while [ \$i -lt 2000 ] && [ ! -f "$WORK/load.stop" ]; do
	curl -sS --max-time 5 "http://127.0.0.1:$1/" >/dev/null 2>&1 || true
	tether --json devices >/dev/null 2>&1 || true
	i=\$((i + 1))
done
LOAD
	rm -f "$WORK/load.stop"
	bg load sh "$WORK/load.sh"
}
load_stop() {
	touch "$WORK/load.stop"
	wait_for 20 sh -c "! kill -0 $PID_load 2>/dev/null" || kill "$PID_load" 2>/dev/null || true
}

# audit_prefix_kept BEFORE: every line of the file BEFORE (an earlier
# `tether-server audit list`) is still the same line at the same place.
audit_prefix_kept() {
	n=$(wc -l <"$1")
	tether-server audit list --dir "$SRV" 2>/dev/null | head -n "$n" >"$1.now"
	cmp -s "$1" "$1.now" || {
		diff "$1" "$1.now" >&2 || true
		fail "audit records acknowledged before the kill changed or went missing"
	}
	pass "all $n audit records from before the kill are kept"
}

# --- agentfault (issue 8) ---

# stream_service: the device's http service is a stream instead of a page:
# one line every 0.1 s per connection, for at most 60 s (sets SERVICE_PORT).
stream_service() {
	SERVICE_PORT=$(free_port)
	cat >"$WORK/stream-page" <<'PAGE'
#!/bin/sh
i=0
while [ $i -lt 600 ]; do echo "tick $i" || exit 0; sleep 0.1; i=$((i + 1)); done
PAGE
	chmod 755 "$WORK/stream-page"
	bg device-service socat "TCP-LISTEN:$SERVICE_PORT,bind=127.0.0.1,reuseaddr,fork" \
		"EXEC:$WORK/stream-page"
	wait_port "$SERVICE_PORT"
}

# stream_open LPORT NAME: read the device's stream through the forward on
# LPORT into $WORK/NAME.out; PID_NAME is the reader. Returns once bytes flow.
stream_open() {
	bg "$2" socat -u "TCP:127.0.0.1:$1" "CREATE:$WORK/$2.out"
	wait_for 20 sh -c "[ -s '$WORK/$2.out' ]" || fail "no bytes flow through the forward"
	stream_flows "$2" || fail "the stream through the forward does not flow"
	pass "bytes flow through the forward ($2)"
}

# stream_flows NAME: the stream's file grows within 3 s.
stream_flows() {
	a=$(wc -c <"$WORK/$1.out")
	wait_for 3 sh -c "[ \$(wc -c <'$WORK/$1.out') -gt $a ]"
}

# stream_closed NAME: the reader saw the connection close within 20 s, and
# no byte arrives after that.
stream_closed() {
	eval "sc_pid=\$PID_$1"
	wait_for 20 sh -c "! kill -0 $sc_pid 2>/dev/null" ||
		fail "the stream $1 still flows ($(wc -c <"$WORK/$1.out") bytes)"
	! stream_flows "$1" || fail "bytes still arrive on $1"
	pass "the stream $1 closed"
}

# pids_gone PID...: every one of them ends within 20 s (prints the rest).
pids_gone() {
	wait_for 20 sh -c "for p in $*; do ! kill -0 \$p 2>/dev/null || exit 1; done" && return 0
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && echo "$p $(cat /proc/"$p"/comm 2>/dev/null)"
	done
	return 1
}

# audit_end_reason SESSION REASON WHAT: the server's trail holds the end of
# SESSION with REASON: the move itself (session_ended), the device's reason
# replacing the relay's (session_end_reason) or, for a session already
# ended otherwise, the device's session_end_report.
audit_end_reason() {
	tether-server audit list --dir "$SRV" 2>/dev/null |
		awk '$4 == "session_ended" || $4 == "session_end_reason" || $4 == "session_end_report"' |
		grep -F "$1" |
		grep -F -q -- "$2" || {
		tether-server audit list --dir "$SRV" 2>/dev/null | grep -F "$1" >&2
		fail "$3: no session_ended, session_end_reason or session_end_report of $1 with '$2'"
	}
	pass "$3"
}

# wait_ends_acked [SECONDS]: until the agent holds no unacknowledged end
# report (state_dir/session-ends empty or absent).
wait_ends_acked() {
	wait_for "${1:-40}" sh -c "[ ! -s '$AGENT_DIR/state/session-ends' ]" ||
		fail "end reports still unacknowledged: $(cat "$AGENT_DIR/state/session-ends")"
	pass "the server acknowledged every end report"
}

# end_reason_is SESSION REASON: the session's end_reason at the server
# becomes REASON within 40 s (the device's report may follow the relay's).
end_reason_is() {
	i=0
	while [ "$(end_reason_of "$1")" != "$2" ] && [ $i -lt 80 ]; do sleep 0.5; i=$((i + 1)); done
	[ "$(end_reason_of "$1")" = "$2" ] ||
		fail "session $1 ended with '$(end_reason_of "$1")', not '$2'"
	pass "session $1 ended: $2"
}
end_reason_of() {
	tether --json session status "$1" | sed -n 's/.*"end_reason": *"\([^"]*\)".*/\1/p'
}

# device_end_reason_is SESSION REASON: the session ended with the device's
# REASON, or, when the specialist's `tether forward` saw its ssh die with the
# stream and ended the session before the restarted agent could report,
# "ended by the specialist"; the device's report must then still reach the
# server's trail (audit_end_reason, after wait_ends_acked).
device_end_reason_is() {
	i=0
	while [ "$(end_reason_of "$1")" != "$2" ] && [ $i -lt 80 ]; do
		[ "$(end_reason_of "$1")" = "ended by the specialist" ] && break
		sleep 0.5; i=$((i + 1))
	done
	case "$(end_reason_of "$1")" in
	"$2") pass "session $1 ended: $2" ;;
	"ended by the specialist") pass "session $1 ended by the specialist's CLI first; the device's report follows" ;;
	*) fail "session $1 ended with '$(end_reason_of "$1")', not '$2'" ;;
	esac
}

# --- support (issue 11) ---
# The device support account: password attempts over real ssh connections,
# each in its own consented session, and the lockout as the operator sees it.

# support_ssh "PASSWORD..." PROMPTS [SSH OPTION...]: a new session,
# consented, then one ssh connection offering up to PROMPTS passwords:
# askpass gives the listed ones (separated by spaces) in turn, the last
# again once they run out. PASSWORD "-" means no askpass and no terminal, so
# OpenSSH sends empty passwords. The session id is in $SUPPORT_SID; returns
# ssh's status.
support_ssh() {
	pws=$1 prompts=$2; shift 2
	SUPPORT_SID=$(tether session request "$SERIAL" --reason "TCK-740 support account")
	[ -n "$SUPPORT_SID" ] || fail "no session id"
	consent_session "$SUPPORT_SID"
	# as DEVICE_SSH_OPTS, at LogLevel INFO: the device's banner is shown
	opts="-F /dev/null -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=INFO -o User=support"
	if [ "$pws" = - ]; then
		# shellcheck disable=SC2086
		env -u SSH_ASKPASS -u SSH_ASKPASS_REQUIRE -u DISPLAY setsid -w \
			timeout 30 ssh $opts -o NumberOfPasswordPrompts="$prompts" \
			-o ProxyCommand="tether connect $SUPPORT_SID" "$@" device true \
			</dev/null >"$WORK/support-ssh.log" 2>&1 && rc=0 || rc=$?
	else
		# shellcheck disable=SC2086
		printf '%s\n' $pws >"$WORK/askpass.seq"
		echo 0 >"$WORK/askpass.n"
		cat >"$WORK/askpass-seq" <<ASK
#!/bin/sh
n=\$((\$(cat "$WORK/askpass.n") + 1))
echo \$n >"$WORK/askpass.n"
sed -n "\${n}p" "$WORK/askpass.seq" | grep . || tail -1 "$WORK/askpass.seq"
ASK
		chmod 700 "$WORK/askpass-seq"
		# shellcheck disable=SC2086
		SSH_ASKPASS="$WORK/askpass-seq" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
			timeout 30 ssh $opts -o BatchMode=no -o NumberOfPasswordPrompts="$prompts" \
			-o PreferredAuthentications=password -o ProxyCommand="tether connect $SUPPORT_SID" \
			"$@" device true </dev/null >"$WORK/support-ssh.log" 2>&1 && rc=0 || rc=$?
	fi
	tether session end "$SUPPORT_SID" >/dev/null 2>&1 || true
	return $rc
}

# support_status: what `tether-agent support-password --status` says.
support_status() {
	tether-agent support-password --status --config "$AGENT_DIR/tether-agent.conf"
}

# wait_support_unlocked [SECONDS]: until the lock has ended by itself
# (bounded by the clock: each look starts a process).
wait_support_unlocked() {
	end=$(( $(date +%s) + ${1:-30} ))
	while ! support_status 2>/dev/null | grep -q 'not locked'; do
		[ "$(date +%s)" -lt "$end" ] ||
			fail "the support account never unlocked: $(support_status)"
		sleep 0.2
	done
}

# support_records ACTION: the device audit's ACTION records since the
# last agent_audit_mark, one per line.
agent_audit_mark() { SUPPORT_MARK=$(wc -l <"$AGENT_DIR/state/audit.log"); }
support_records() {
	tail -n +"$(( ${SUPPORT_MARK:-0} + 1 ))" "$AGENT_DIR/state/audit.log" |
		jq -r --arg a "$1" 'select(.action == $a) | .detail'
}

# restart_agent: stop the agent (its monitor, which takes its workers
# along), start it again with the same config, and wait until the server
# has it online again (needs cli_login). The server marks a device offline
# the moment its held ping drops and refuses requests for it: a request
# made before the new agent's first ping failed "device is offline" (t741
# under load). Offline is waited for first, so that the old agent's held
# ping cannot be taken for the new one.
restart_agent() {
	kill "$PID_agent"
	i=0
	while kill -0 "$PID_agent" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -0 "$PID_agent" 2>/dev/null && fail "the agent did not stop"
	wait_for 20 sh -c "tether --json devices | grep -q '\"online\": *false'" ||
		fail "the server still has the stopped agent online"
	AGENT_RUNS=$(( ${AGENT_RUNS:-1} + 1 ))
	bg "agent-$AGENT_RUNS" tether-agent run --config "$AGENT_DIR/tether-agent.conf"
	eval "PID_agent=\$PID_agent_$AGENT_RUNS"
	wait_online 30
}

# ---- the packages (t772, t773, t774) --------------------------------------
# make_debs: the four packages of the build under test in $WORK/deb
# (scripts/mkdeb, what `make deb` runs, uncompressed for speed); DEB_DEPS
# the packages they depend on, versions dropped.
make_debs() {
	command -v dpkg-deb >/dev/null || skip "no dpkg-deb"
	MKDEB_COMPRESS=none "$TETHER_SRC/scripts/mkdeb" "$TETHER_BIN/.." "$WORK/deb" >"$WORK/mkdeb.log" 2>&1 ||
		fail "mkdeb: $(tail -3 "$WORK/mkdeb.log")"
	DEB_DEPS=$(for _d in "$WORK"/deb/*.deb; do dpkg-deb -f "$_d" Depends; echo ,; done |
		sed 's/([^)]*)//g; s/,/ /g')
}

# deb_agent_enroll IN ROOT TOKEN: the README's device steps for the packaged
# agent in ROOT, each command run there through IN (a chroot, or the booted
# host): agent.conf set to this deployment (server, serial, the status page
# as service.http, no file area), enrollment with $SUPPORT_PW, the state
# handed to the agent's user.
deb_agent_enroll() {
	sed -i -e "s#^server = .*#server = https://127.0.0.1:$SERVER_PORT#" -e "s#^serial = .*#serial = $SERIAL#" \
		-e "s#^service.http = .*#service.http = 127.0.0.1:$SERVICE_PORT#" -e 's#^files.logs = .*##' \
		"$2/etc/tether/agent.conf"
	printf '%s\n' "$SUPPORT_PW" >"$2/tmp/support-pw"
	$1 tether-agent enroll --config /etc/tether/agent.conf --token "$3" --ca-fingerprint "$CA_FP" \
		--support-password-file /tmp/support-pw >"$WORK/enroll.log" 2>&1 ||
		fail "enroll in the root: $(cat "$WORK/enroll.log")"
	rm -f "$2/tmp/support-pw"
	$1 chown -R tether: /var/lib/tether-agent
}

# ---- a Debian 12 host booted with systemd (t773, t774) -------------------
# sigkill_wait PID: SIGKILL it and wait until it is gone, so that a daemon
# started next does not find the old one still holding its port.
sigkill_wait() {
	kill -9 "$1" 2>/dev/null || true
	wait_for 10 sh -c "! kill -0 $1 2>/dev/null" || fail "process $1 did not die on SIGKILL"
}

# server_restart N: start the server again (its log server-N.log) and wait
# for its port; PID_server is the new one.
server_restart() {
	bg "server-$1" tether-server run --dir "$SRV"
	eval "PID_server=\$PID_server_$1"
	wait_port "$SERVER_PORT"
}

# notify_capture DIR: $WORK/notify-cmd, a notify.command that keeps each
# notification's body as DIR/N.body (N from 1, whole or absent).
notify_capture() {
	mkdir -p "$1"
	cat >"$WORK/notify-cmd" <<HOOK
#!/bin/sh
n=\$(ls "$1" | grep -c '\.body\$' || true)
cat >"$1/\$((n + 1)).tmp" && mv "$1/\$((n + 1)).tmp" "$1/\$((n + 1)).body"
HOOK
	chmod 755 "$WORK/notify-cmd"
}

# A SIEM's syslog receiver for the audit export (docs/siem.md): Debian's
# rsyslog with its TLS module, on loopback.
siem_rx_available() {
	command -v rsyslogd >/dev/null 2>&1 &&
		[ -n "$(find /usr/lib -name lmnsd_gtls.so 2>/dev/null | head -1)" ]
}

# siem_ca X NAME: a CA of the receiver's own (X/NAME.crt, X/NAME.key).
siem_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/$2.key" \
		-out "$1/$2.crt" -days 2 -subj "/CN=$2 SIEM CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>>"$WORK/openssl.log" ||
		fail "openssl: cannot make the CA $2"
}

# siem_receiver X: in folder X a CA (X/ca.crt), a certificate for 127.0.0.1
# signed by it, and an rsyslog config taking RFC 5425 over TLS on port
# $SIEM_PORT into X/received.log (each message's raw text, a line each);
# started (siem_rx_start / siem_rx_stop).
siem_receiver() {
	mkdir -p "$1/rs"
	siem_ca "$1" ca
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/rx.key" \
		-out "$1/rx.csr" -subj "/CN=siem receiver" 2>>"$WORK/openssl.log" || fail "openssl csr"
	printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >"$1/ext"
	openssl x509 -req -in "$1/rx.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -CAcreateserial \
		-out "$1/rx.crt" -days 2 -extfile "$1/ext" 2>>"$WORK/openssl.log" || fail "openssl sign"
	SIEM_PORT=$(free_port)
	cat >"$1/rsyslog.conf" <<CONF
global(workDirectory="$1/rs" maxMessageSize="64k"
       defaultNetstreamDriver="gtls"
       defaultNetstreamDriverCAFile="$1/ca.crt"
       defaultNetstreamDriverCertFile="$1/rx.crt"
       defaultNetstreamDriverKeyFile="$1/rx.key")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" port="$SIEM_PORT" address="127.0.0.1" gnutlsPriorityString="NORMAL")
template(name="raw" type="string" string="%rawmsg%\n")
action(type="omfile" file="$1/received.log" template="raw")
CONF
	siem_rx_start "$1"
}

siem_rx_start() {
	SIEM_RX_N=$(( ${SIEM_RX_N:-0} + 1 ))
	bg "rsyslog-$SIEM_RX_N" rsyslogd -n -f "$1/rsyslog.conf" -i "$1/rsyslog.pid"
	wait_port "$SIEM_PORT"
}

siem_rx_stop() {
	_pid=$(cat "$1/rsyslog.pid")
	kill "$_pid"
	_i=0
	while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
}

# sd_root R PKG...: a clean root in R of what debootstrap --variant=minbase
# gives (the Essential and the required packages: apt, PAM, passwd...), plus
# systemd and PKG, copied from this host (helpers/debroot.py); ready to boot
# as a container: a machine id (else the first-boot wizard asks on the
# console), no console login and no network manager (loopback is the host's),
# and nothing that would set the kernel's state, which is the host's: no
# sysctl, modules, remount, udev or FUSE control mount.
sd_root() {
	_r=$1; shift
	grep -q '^12\.' /etc/debian_version 2>/dev/null ||
		skip "the clean root is copied from this host, which is not Debian 12"
	for _c in unshare nsenter; do command -v $_c >/dev/null || skip "no $_c"; done
	[ -x /lib/systemd/systemd ] || skip "no systemd on this host to copy into the root"
	_base=$(dpkg-query -W -f '${Package} ${Essential} ${Priority}\n' |
		awk '$2 == "yes" || $3 == "required" { print $1 }')
	# shellcheck disable=SC2086
	python3 "$TETHER_SRC/tests/e2e/helpers/debroot.py" "$_r" $_base systemd "$@" \
		>"$WORK/debroot.log" 2>&1 || fail "debroot: $(cat "$WORK/debroot.log")"
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$_r/etc/machine-id"
	for _u in console-getty.service systemd-networkd.service systemd-networkd.socket \
		systemd-sysctl.service systemd-modules-load.service systemd-remount-fs.service \
		systemd-udevd.service systemd-udev-trigger.service sys-fs-fuse-connections.mount; do
		ln -sf /dev/null "$_r/etc/systemd/system/$_u"
	done
	mkdir -p "$_r/.oldroot" "$_r/var/lib/apt/lists/partial" "$_r/var/cache/apt/archives/partial"
}

# sd_boot R: systemd as PID 1 of new pid, mount, UTS and IPC namespaces
# (the network is the host's: loopback), R made its /
# by pivot_root (a chroot is not a mount point, and the units' sandboxing
# fails "Failed to set up mount namespacing"), with a /dev of its own (the
# console a file, $WORK/console.log). SIGKILL to it when unshare goes (the
# harness's cleanup) ends every process in the namespace. Returns once
# systemd says "running"; sets SD (its pid), SD_ROOT, and FAIL_HOOK so that
# a failure saves the root's journal. Then does what libpam-runtime's
# postinst would (/etc/pam.d/common-*; without them runuser aborts).
sd_boot() {
	SD_ROOT=$1
	: >"$WORK/console.log"
	bg systemd unshare --pid --mount --uts --ipc --fork --kill-child=SIGKILL --propagation private sh -c '
		R=$0
		mount --bind "$R" "$R"
		mount -t tmpfs -o mode=755 dev "$R/dev"
		for n in null zero full random urandom tty; do
			touch "$R/dev/$n" && mount --bind "/dev/$n" "$R/dev/$n"
		done
		mkdir -p "$R/dev/pts" "$R/dev/shm"
		mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"
		ln -s pts/ptmx "$R/dev/ptmx"
		touch "$R/dev/console" && mount --bind "$1" "$R/dev/console"
		cd "$R" && pivot_root . .oldroot && exec chroot . /bin/sh -c "mount -t proc proc /proc &&
			umount -l /.oldroot &&
			exec /usr/bin/env -i container=tether-test /lib/systemd/systemd --log-level=info"
	' "$SD_ROOT" "$WORK/console.log"
	wait_for 10 pgrep -P "$PID_systemd" -x systemd || fail "systemd did not start: $(cat "$WORK/systemd.log")"
	SD=$(pgrep -P "$PID_systemd" -x systemd)
	FAIL_HOOK=sd_fail_logs
	wait_for 30 insd test -S /run/systemd/private || fail "systemd never opened its control socket"
	_st=$(insd timeout 60 systemctl is-system-running --wait 2>&1) || true
	[ "$_st" = running ] ||
		fail "the root's systemd is '$_st': $(insd systemctl --failed --no-pager 2>&1)"
	insd env DEBIAN_FRONTEND=noninteractive pam-auth-update --package --force >"$WORK/pam.log" 2>&1 ||
		fail "pam-auth-update: $(cat "$WORK/pam.log")"
}

# insd CMD...: CMD as root on the booted host (systemd's namespaces and root),
# with the PATH of a root shell on Debian.
insd() {
	nsenter -t "$SD" -m -p -r -w env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}
sd_fail_logs() {
	insd journalctl --no-pager -o short-precise >"$WORK/journal.log" 2>&1 || true
	tail -20 "$SD_ROOT/var/lib/tether-agent/audit.log" >"$WORK/device-audit.log" 2>&1 || true
}

# repo_publish RMDIR FILE: a release manager's repository in RMDIR (keys
# root, targets, injector; the injector family delegated injector/*) with
# FILE as injector/pump-2.1.raucb (pump-fw 2.1, counter 7), signed and
# published to the server, whose snapshot and timestamp are then signed.
repo_publish() {
	mkdir -p "$1"
	for _k in root targets injector; do
		tether repo keygen "$1/$_k" >/dev/null 2>&1 || fail "repo keygen $_k"
	done
	tether repo init "$1/R" --root-key "$1/root.pub" --targets-key "$1/targets.pub" \
		--snapshot-key "$SRV/repo/keys/snapshot.pub" --timestamp-key "$SRV/repo/keys/timestamp.pub" \
		2>/dev/null || fail "repo init"
	tether repo delegate "$1/R" injector --key "$1/injector.pub" --paths 'injector/*' 2>/dev/null ||
		fail "repo delegate"
	tether repo add "$1/R" "$2" --role injector --name injector/pump-2.1.raucb --product injector \
		--hardware inj-a --component pump-fw --version 2.1 --counter 7 >/dev/null || fail "repo add"
	tether repo sign "$1/R" root --key "$1/root" && tether repo sign "$1/R" targets --key "$1/targets" &&
		tether repo sign "$1/R" injector --key "$1/injector" || fail "repo sign"
	tether-server repo publish "$1/R" --dir "$SRV" >"$WORK/publish.out" 2>&1 ||
		fail "repo publish: $(cat "$WORK/publish.out")"
	wait_for 20 test -s "$SRV/repo/metadata/timestamp.json" || fail "the server signed no timestamp"
}

# repo_release RMDIR FILE NAME VERSION COUNTER [HARDWARE [COMPONENT]]: FILE
# added to the folder repo_publish made, as the injector family's release
# injector/NAME (component pump-fw unless said), signed, published, and the
# server's new timestamp waited for.
repo_release() {
	tether repo add "$1/R" "$2" --role injector --name "injector/$3" --product injector \
		--hardware "${6:-inj-a}" --component "${7:-pump-fw}" --version "$4" --counter "$5" >/dev/null ||
		fail "repo add $3"
	tether repo sign "$1/R" injector --key "$1/injector" >/dev/null || fail "repo sign $3"
	_rv=$(jq -r .signed.version "$SRV/repo/metadata/timestamp.json")
	tether-server repo publish "$1/R" --dir "$SRV" >"$WORK/publish.out" 2>&1 ||
		fail "repo publish $3: $(cat "$WORK/publish.out")"
	wait_for 20 sh -c "[ \"\$(jq -r .signed.version '$SRV/repo/metadata/timestamp.json')\" != $_rv ]" ||
		fail "no new timestamp after publishing $3"
}

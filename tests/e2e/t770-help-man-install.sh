#!/bin/sh
# Every subcommand of every program has --help and a man page; `make
# install`, run as the README says, puts binaries, units, man pages,
# sysusers/tmpfiles entries and bash completion under PREFIX and DESTDIR;
# the installed units pass systemd-analyze verify and fit what the programs
# write.
#
# The subcommands are read from each program's top-level usage by the awk
# below, not by the program's own parser (src/lib/cmdhelp.c): a command a
# helper adds to the usage text must get --help, appear in `--commands`
# (bash completion) and be documented in the man page, or this test fails.
. "$(dirname "$0")/lib.sh"
BUILD="$TETHER_BIN/.."

# The commands in a usage text, one per line (the form is in cmdhelp.h).
usage_cmds() {
	awk -v prog="$1" '
	function words(s, base,   n, t, i, out, k, a, m) {
		n = split(s, t, " "); out = base
		for (i = 1; i <= n; i++) {
			if (t[i] ~ /\|/) {
				m = split(t[i], a, "|")
				for (k = 1; k <= m; k++)
					if (a[k] ~ /^[a-z][a-z0-9-]*$/) print (out == "" ? "" : out " ") a[k]
				return ""
			}
			if (t[i] !~ /^[a-z][a-z0-9-]*$/) break
			out = (out == "" ? "" : out " ") t[i]
		}
		if (out != base) print out
		return out
	}
	{
		line = $0
		sub(/^usage:/, "      ", line)
		if (line ~ /^ *$/) { if (seen) exit; next }
		match(line, /^ */); ind = RLENGTH
		if (ind >= 8) next
		rest = substr(line, ind + 1)
		if (index(rest, prog " ") == 1) rest = substr(rest, length(prog) + 2)
		if (rest !~ /^[a-z]/) next
		seen = 1
		p = index(rest, "  "); if (p > 0) rest = substr(rest, 1, p - 1)
		n = split(rest, piece, / \| /)
		first = words(piece[1], "")
		split(first, fw, " "); base = first; sub(/ ?[^ ]*$/, "", base)
		for (i = 2; i <= n; i++) {
			split(piece[i], pw, " ")
			words(piece[i], pw[1] == fw[1] ? "" : base)
		}
	}'
}

# make_install VAR=VALUE...: the README's `make install PREFIX=... DESTDIR=...`,
# of the tree under test (BUILT: as it is, not configured or built again).
make_install() {
	make -C "$TETHER_SRC" install BUILT="$BUILD" "$@"
}

# 1. Install into a prefix (man pages, units, completion) for what follows.
INST="$WORK/inst"
make_install PREFIX="$INST" >"$WORK/install.log" 2>&1 ||
	fail "make install PREFIX=$INST: $(tail -3 "$WORK/install.log")"

total=0
for spec in tether:1 tether-server:8 tether-relay:8 tether-agent:8; do
	prog=${spec%:*}
	man="$INST/share/man/man${spec#*:}/$prog.${spec#*:}"
	[ -s "$man" ] || fail "no man page $man"
	"$prog" --help >"$WORK/top.out" 2>"$WORK/top.err" || fail "$prog --help exits $?"
	[ -s "$WORK/top.out" ] && [ ! -s "$WORK/top.err" ] ||
		fail "$prog --help: the usage must be on stdout only"
	usage_cmds "$prog" <"$WORK/top.out" | sort >"$WORK/$prog.cmds"
	[ "$(wc -l <"$WORK/$prog.cmds")" -ge 3 ] || fail "$prog: found no subcommands in its usage"
	"$prog" --commands | sort >"$WORK/$prog.listed"
	cmp -s "$WORK/$prog.cmds" "$WORK/$prog.listed" ||
		fail "$prog --commands differs from its usage: $(diff "$WORK/$prog.cmds" "$WORK/$prog.listed" | tr '\n' ' ')"
	while read -r cmd; do
		# shellcheck disable=SC2086  # (no leak check: ~60 runs, the time budget)
		out=$(ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "$prog" $cmd --help 2>"$WORK/err") || fail "$prog $cmd --help exits $?"
		[ ! -s "$WORK/err" ] || fail "$prog $cmd --help wrote to stderr: $(head -2 "$WORK/err")"
		# the block that names it ("consent list | accept ID": its last word)
		first=${cmd%% *} last=${cmd##* }
		[ "$first" != "$cmd" ] || last=""
		case "$out" in
		"usage:"*"$prog $first"*" $last"*) ;;
		*) fail "$prog $cmd --help: no usage naming '$prog $cmd': $out" ;;
		esac
		# the man page has the command as a bold term (scdoc *cmd*)
		grep -qF "\\fB$cmd\\fR" "$man" || fail "$prog $cmd is not documented in $man"
		total=$((total + 1))
	done <"$WORK/$prog.cmds"
	pass "$prog: $(wc -l <"$WORK/$prog.cmds") subcommands, each with --help (exit 0, stdout) and a man page entry"
done
[ "$(tether-server help user add)" = "$(tether-server user add --help)" ] ||
	fail "tether-server help user add differs from user add --help"
tether-server nosuch --help >/dev/null 2>&1 && fail "an unknown command's --help succeeded"
rc=0; tether nosuch --help >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "tether nosuch --help: exit $rc, want 2"
pass "an unknown command's --help is a usage error"

for conf in tether-server tether-relay tether-agent tether-policy; do
	[ -s "$INST/share/man/man5/$conf.conf.5" ] || fail "no man page for $conf.conf"
done
# every setting in the example agent config is documented in its man page
for k in $(sed -n 's/^#\{0,1\}\([a-z_]*\)\(\.[A-Za-z0-9_]*\)\{0,1\} =.*/\1/p' \
	"$TETHER_SRC/dist/tether-agent.conf.example" | sort -u); do
	grep -q "fB$k" "$INST/share/man/man5/tether-agent.conf.5" ||
		fail "tether-agent.conf(5) does not document $k"
done
pass "man pages for the four config files; every agent.conf setting in tether-agent.conf(5)"

# 2. Bash completion from the installed file.
comp=$(bash -c ". '$INST/share/bash-completion/completions/tether-server'
	COMP_WORDS=(tether-server user re); COMP_CWORD=2; _tether_complete; echo \"\${COMPREPLY[*]}\"")
[ "$comp" = "reset-mfa reset-password revoke-tokens" ] || fail "completion of 'tether-server user re': '$comp'"
# an option's value before the command is not a command word
comp=$(bash -c ". '$INST/share/bash-completion/completions/tether'
	COMP_WORDS=(tether --profile work --json dev); COMP_CWORD=4; _tether_complete; echo \"\${COMPREPLY[*]}\"")
[ "$comp" = "devices" ] || fail "completion of 'tether --profile work --json dev': '$comp'"
for prog in tether tether-agent tether-relay; do
	[ -s "$INST/share/bash-completion/completions/$prog" ] || fail "no completion for $prog"
done
pass "bash completion installed for each program, completing subcommands"

# 3. make install's PREFIX and DESTDIR: everything lands under DESTDIR/PREFIX,
#    the units run the binaries from PREFIX.
DEST="$WORK/dest"
make_install PREFIX=/opt/tether DESTDIR="$DEST" >"$WORK/install2.log" 2>&1 ||
	fail "make install PREFIX=/opt/tether DESTDIR=$DEST: $(tail -3 "$WORK/install2.log")"
for f in bin/tether bin/tether-server bin/tether-relay bin/tether-agent \
	lib/systemd/system/tether-agent.service lib/systemd/system/tether-relay.service \
	lib/systemd/system/tether-server.service lib/sysusers.d/tether-agent.conf \
	lib/tmpfiles.d/tether-relay.conf share/man/man5/tether-agent.conf.5 \
	share/doc/tether/examples/tether-agent.conf.example; do
	[ -s "$DEST/opt/tether/$f" ] || fail "DESTDIR install lacks /opt/tether/$f"
done
[ -z "$(find "$DEST" -mindepth 1 -maxdepth 1 ! -name opt)" ] || fail "DESTDIR install wrote outside PREFIX"
grep -q '^ExecStart=/opt/tether/bin/tether-agent run' "$DEST/opt/tether/lib/systemd/system/tether-agent.service" ||
	fail "the installed unit does not run the binary from PREFIX"
pass "make install PREFIX=/opt/tether DESTDIR=: binaries, units (ExecStart in PREFIX), sysusers, tmpfiles, man pages, example"

# 4. The units: systemd's own parser, then what the programs write.
U="$INST/lib/systemd/system"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify --man=no "$U"/tether-*.service >"$WORK/verify.log" 2>&1 ||
		fail "systemd-analyze verify: $(cat "$WORK/verify.log")"
	[ ! -s "$WORK/verify.log" ] || fail "systemd-analyze verify warns: $(cat "$WORK/verify.log")"
	pass "systemd-analyze verify: the three units, no warning"
else
	log "systemd-analyze not installed: unit syntax not verified (the checks below still run)"
fi
key() { sed -n "s/^$2=//p" "$U/$1.service"; }
for u in tether-server tether-relay tether-agent; do
	[ "$(key $u Type)" = notify ] && [ -n "$(key $u WatchdogSec)" ] || fail "$u: not Type=notify with WatchdogSec"
	[ -n "$(key $u StartLimitIntervalSec)" ] && [ -n "$(key $u StartLimitBurst)" ] ||
		fail "$u: no start limit (a bad config would restart forever)"
	sed -n '/^\[Unit\]/,/^\[/p' "$U/$u.service" | grep -q '^StartLimitBurst=' ||
		fail "$u: StartLimitBurst= must be in [Unit]"
done
[ "$(key tether-server StateDirectory)" = tether ] && key tether-server ExecStart | grep -q -- '--dir /var/lib/tether$' ||
	fail "server: StateDirectory= is not its --dir"
# The agent's unit has no User=, so a StateDirectory= would be handed to
# root at each start (t773): the folder is the tmpfiles entry's, writable.
[ -z "$(key tether-agent StateDirectory)" ] &&
	key tether-agent ReadWritePaths | grep -q '/var/lib/tether-agent' &&
	grep -q '^d /var/lib/tether-agent 0700 tether tether' "$TETHER_SRC/dist/tmpfiles/tether-agent.conf" &&
	grep -q '^state_dir = /var/lib/tether-agent$' "$TETHER_SRC/dist/tether-agent.conf.example" ||
	fail "agent: the example's state_dir is not the tmpfiles folder the unit may write"
[ "$(key tether-agent RuntimeDirectory)" = tether-agent ] &&
	grep -q '^consent_socket = /run/tether-agent/' "$TETHER_SRC/dist/tether-agent.conf.example" ||
	fail "agent: RuntimeDirectory= does not hold the consent socket"
# The relay: the config `relay add --state-dir` writes keeps every file the
# relay writes in its StateDirectory=, and /etc stays read-only.
[ "$(key tether-relay StateDirectory)" = tether-relay ] || fail "relay: StateDirectory= is not tether-relay"
key tether-relay ReadWritePaths | grep -q /etc && fail "relay: the unit makes /etc writable"
tether-server init "$WORK/srv" --host 127.0.0.1 --listen 127.0.0.1:1 >"$WORK/init.log" 2>&1 ||
	fail "init: $(tail -2 "$WORK/init.log")"
tether-server relay add r1 --host relay.example --device-port 17001 --client-port 17002 \
	--state-dir /var/lib/tether-relay --dir "$WORK/srv" >>"$WORK/init.log" 2>&1 ||
	fail "relay add --state-dir: $(tail -2 "$WORK/init.log")"
grep -q '^audit_log = /var/lib/tether-relay/audit.log$' "$WORK/srv/relays/r1/tether-relay.conf" ||
	fail "relay add --state-dir: audit_log is not in the state folder: $(grep audit_log "$WORK/srv/relays/r1/tether-relay.conf")"
tether-server relay add r2 --host relay.example --device-port 17001 --client-port 17002 \
	--state-dir relative --dir "$WORK/srv" >/dev/null 2>&1 && fail "a relative --state-dir was accepted"
# ... and a relay so configured writes there and nothing beside its config
RD="$WORK/srv/relays/r3"
tether-server relay add r3 --host 127.0.0.1 --device-port "$(free_port)" --client-port "$(free_port)" \
	--state-dir "$WORK/rstate" --dir "$WORK/srv" >>"$WORK/init.log" 2>&1 || fail "relay add r3"
mkdir -p "$WORK/rstate"
ls "$RD" >"$WORK/relay-files.before"
bg relay tether-relay run --config "$RD/tether-relay.conf"
wait_log "$WORK/relay.log" "relay r3 running"
kill "$PID_relay"
wait_for 10 sh -c "! kill -0 $PID_relay 2>/dev/null" || fail "the relay did not stop"
ls "$RD" | cmp -s - "$WORK/relay-files.before" || fail "the relay wrote beside its config: $(ls "$RD")"
[ -s "$WORK/rstate/audit.log" ] && [ -d "$WORK/rstate/audit.log.reports" ] ||
	fail "the relay's trail and spool are not in its state folder: $(ls "$WORK/rstate")"
pass "units: notify + watchdog + start limit; state folders match the programs' paths; the relay writes only in /var/lib/tether-relay"
log "checked $total subcommands"

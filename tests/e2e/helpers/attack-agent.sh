#!/bin/sh
# attack-agent.sh TARGETS: what a specialist's shell or diagnostic tries
# against the agent on the device. TARGETS (a sh file) sets STATE (the
# agent's state_dir), SOCK (its consent socket), PIDS (agent pids the test
# knows) and CONTROL (a file anyone may read). Every agent process this
# shell can see (by /proc/*/comm) is attacked too. Prints one line per
# attempt, "refused: WHAT" or "BREACH: WHAT", then "attack-done".
. "$1"

try() {
	what=$1; shift
	if "$@" >/dev/null 2>&1; then echo "BREACH: $what"; else echo "refused: $what"; fi
}

cat "$CONTROL" >/dev/null 2>&1 && echo "control: visible"
for f in device.key ssh_hostkey support.hash; do
	try "read $f" cat "$STATE/$f"
done
try "append to audit.log" sh -c "echo forged >>'$STATE/audit.log'"
try "truncate audit.log" truncate -s 0 "$STATE/audit.log"
# The consent socket: anything but no answer or the refusal is a breach.
ans=$(printf 'LIST\n' | timeout 5 socat -t 2 - "UNIX-CONNECT:$SOCK" 2>/dev/null || true)
case "$ans" in
"" | "ERR not permitted"*) echo "refused: consent socket" ;;
*) echo "BREACH: the consent socket answered: $ans" ;;
esac
seen=""
for p in /proc/[0-9]*; do
	case "$(cat "$p/comm" 2>/dev/null)" in
	tether-agent | tether-net | tether-keeper) seen="$seen ${p#/proc/}" ;;
	esac
done
echo "agent processes seen:${seen:- none}"
for p in $PIDS $seen; do
	try "kill -0 $p" kill -0 "$p"
	try "kill -TERM $p" kill -TERM "$p"
	try "open /proc/$p/mem" sh -c "exec 3</proc/$p/mem"
	try "read /proc/$p/environ" sh -c "test -n \"\$(cat /proc/$p/environ)\""
	if command -v gdb >/dev/null 2>&1; then
		# Registers can only be shown from an attached process.
		out=$(timeout 30 gdb -nx -batch -p "$p" -ex 'info registers rip' 2>&1 || true)
		case "$out" in
		*rip*0x*) echo "BREACH: ptrace $p" ;;
		*) echo "refused: ptrace $p" ;;
		esac
	fi
done
echo attack-done

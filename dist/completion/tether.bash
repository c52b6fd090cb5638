# bash completion for tether, tether-server, tether-relay and tether-agent.
# The commands come from the program itself (`PROG --commands`, read from its
# usage text), so a new subcommand completes without touching this file.
_tether_complete()
{
	local cur prog words w cmds i n
	cur=${COMP_WORDS[COMP_CWORD]}
	prog=${COMP_WORDS[0]}
	case "$cur" in
	-*)
		COMPREPLY=($(compgen -W "--help --config --dir --json --profile --reason --status --generate" -- "$cur"))
		return ;;
	esac
	case "${COMP_WORDS[COMP_CWORD-1]}" in
	--config|--dir|--csr|--ca|--checkpoint|--support-password-file|--state-dir)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--profile)
		# the profiles kept beside the default one (cli-NAME.json)
		local f home=${TETHER_HOME:-$HOME/.config/tether}
		COMPREPLY=()
		for f in "$home"/cli-*.json; do
			[ -e "$f" ] || continue
			f=${f##*/cli-}
			COMPREPLY+=("${f%.json}")
		done
		COMPREPLY=($(compgen -W "default ${COMPREPLY[*]}" -- "$cur"))
		return ;;
	esac
	# the words typed so far that are not options nor an option's value
	# ("tether --profile work devices": work is --profile's)
	words=""
	n=0
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case "$w" in
		--json|--help|-h|--shell|--upload|--patient-records|--escalation|--status|--generate|--) continue ;;
		-*) i=$((i + 1)); continue ;;
		esac
		words="$words $w"
		n=$((n + 1))
	done
	cmds=$("$prog" --commands 2>/dev/null) || return
	# the next command word after those typed
	COMPREPLY=($(compgen -W "$(printf '%s\n' "$cmds" | awk -v typed="$words" -v n="$n" '
		{ split(typed, t, " "); ok = 1
		  for (i = 1; i <= n; i++) if ($i != t[i]) ok = 0
		  if (ok && NF > n) print $(n + 1) }' | sort -u)" -- "$cur"))
}
complete -o default -F _tether_complete tether tether-server tether-relay tether-agent

#!/bin/sh
# shellcheck disable=SC2154 # PID_<name> variables are set by lib.sh bg() via eval
# The policy matrix: one user for every role and specialist level, against
# every permission. What each should be allowed is computed here from the
# deployment's policy.conf with awk (not by the server's parser), and each
# cell is checked through the real API: session actions by requesting a
# session with only that action (and ending it again), API permissions by
# calling their route. Refusals are audited.
. "$(dirname "$0")/lib.sh"

deploy 1
start_device_service
# the diagnostics and file area the matrix asks for: a device is asked
# only for what its agent reports (issue 11)
mkdir -p "$WORK/logs"
export AGENT_EXTRA_CONF="service.screen = 127.0.0.1:$SERVICE_PORT
diag.status = /bin/true
diag.selftest = /bin/true
files.logs = $WORK/logs"
agent_setup "$SERIAL"
cli_login
wait_online

# --- what policy.conf says, read independently ---------------------------
# read_policy: perms.txt, "ROLE PERMISSION" per line, @ROLE includes expanded.
read_policy() {
	awk '
/^[ \t]*(#|$)/ { next }
{
	key = $0; sub(/[ \t]*=.*/, "", key); sub(/^[ \t]+/, "", key)
	if (key !~ /^role\./) next
	val = $0; sub(/^[^=]*=/, "", val)
	sub(/(^|[ \t])#.*/, "", val)
	role = substr(key, 6)
	n = split(val, w, /[ \t]+/)
	for (i = 1; i <= n; i++) {
		if (w[i] == "") continue
		if (substr(w[i], 1, 1) == "@") {
			src = substr(w[i], 2)
			for (k = 1; k <= cnt[src]; k++) add(role, list[src, k])
		} else add(role, w[i])
	}
}
function add(r, p) {
	if ((r, p) in seen) return
	seen[r, p] = 1
	list[r, ++cnt[r]] = p
	print r, p
}' "$SRV/policy.conf" >"$WORK/perms.txt"
	[ -s "$WORK/perms.txt" ] || fail "no role permissions read from policy.conf"
}

has() { grep -qxF "$1 $2" "$WORK/perms.txt"; }
# allowed ROLE PERM: the policy's matching rules (wildcards; write grants read)
allowed() {
	has "$1" "$2" && return 0
	case $2 in
	forward:*) has "$1" "forward:*" ;;
	diag:*) has "$1" "diag:*" ;;
	files:read) has "$1" files:write ;;
	*) return 1 ;;
	esac
}

# --- one user per role and level ------------------------------------------
ROLES="specialist.1 specialist.2 specialist.3 customer_approver customer_viewer release_manager administrator auditor"
for r in $ROLES; do
	u=$(echo "$r" | tr '._' '--')
	case $r in
	specialist.*) add_user "$u" specialist "${r#specialist.}" US ;;
	customer_*) add_user "$u" "$r" 1 US "$SITE" ;;
	*) add_user "$u" "$r" 1 US ;;
	esac
	login_user "$u"
done
add_user requester specialist 3 US
login_user requester

# call USER METHOD PATH [JSON]: prints the HTTP status; the body goes to
# $WORK/body.
call() {
	who=$1; shift
	token=$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$WORK/home-$who/cli.json")
	curl -sS -o "$WORK/body" -w '%{http_code}' --cacert "$SRV/ca/root.crt" -X "$1" \
		-H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		${3:+--data "$3"} "https://127.0.0.1:$SERVER_PORT$2"
}
body_id() { sed -n 's/.*"id": *"\([0-9a-f]\{32\}\)".*/\1/p' "$WORK/body"; }

# --- the cells --------------------------------------------------------------
# A session action: request a session granting only that, end it if granted.
check_action() {
	user=$1 perm=$2
	case $perm in
	forward:*) body="{\"device\":\"$SERIAL\",\"reason\":\"TCK-300\",\"services\":[\"${perm#forward:}\"]}" ;;
	*) body="{\"device\":\"$SERIAL\",\"reason\":\"TCK-300\",\"actions\":[\"$perm\"]}" ;;
	esac
	code=$(call "$user" POST /api/v1/sessions "$body")
	if [ "$code" = 201 ]; then
		id=$(body_id)
		[ "$(call "$user" POST "/api/v1/sessions/$id/end")" = 200 ] ||
			fail "$user could not end its session $id: $(cat "$WORK/body")"
		echo allow
	elif [ "$code" = 403 ]; then
		echo refuse
	else
		fail "$user asking for $perm: unexpected HTTP $code: $(cat "$WORK/body")"
	fi
}

# An API permission: call its route; 403 means refused, the route's own
# answer (200, or 404 for a name that does not exist) means allowed.
check_api() {
	user=$1 perm=$2
	case $perm in
	devices:view) code=$(call "$user" GET /api/v1/devices) ;;
	session:request) code=$(call "$user" POST /api/v1/sessions '{"device":"NO-SUCH","reason":"TCK-300"}') ;;
	approvals:view) code=$(call "$user" GET /api/v1/approvals) ;;
	approvals:decide) code=$(call "$user" POST /api/v1/approvals/00000000000000000000000000000000/approve) ;;
	sites:view) code=$(call "$user" GET /api/v1/sites) ;;
	site:switch) code=$(call "$user" POST /api/v1/sites/no-such-site/remote '{"enabled":true,"reason":"TCK-300"}') ;;
	site:approval) code=$(call "$user" POST /api/v1/sites/no-such-site/approval '{"mode":"none"}') ;;
	repo:publish) code=$(call "$user" GET /api/v1/repo/publications/p00000000000000000000) ;;
	esac
	case $code in
	200|404) echo allow ;;
	403) echo refuse ;;
	*) fail "$user on $perm: unexpected HTTP $code: $(cat "$WORK/body")" ;;
	esac
}

# Ending another user's session: session:end:any, or session:end:site for a
# customer role of the device's site (every customer user here is).
check_end() {
	user=$1
	[ "$(call requester POST /api/v1/sessions "{\"device\":\"$SERIAL\",\"reason\":\"TCK-300\",\"services\":[\"http\"]}")" = 201 ] ||
		fail "requester could not open a session: $(cat "$WORK/body")"
	id=$(body_id)
	code=$(call "$user" POST "/api/v1/sessions/$id/end")
	case $code in
	200) echo allow ;;
	403|404)
		echo refuse
		[ "$(call requester POST "/api/v1/sessions/$id/end")" = 200 ] || fail "requester could not end $id" ;;
	*) fail "$user ending $id: unexpected HTTP $code: $(cat "$WORK/body")" ;;
	esac
}

ACTIONS="forward:screen forward:http files:read files:write shell diag:status diag:selftest patient_records"
APIS="devices:view session:request approvals:view approvals:decide sites:view site:switch site:approval repo:publish"

# run_matrix: every cell, expected from policy.conf, checked, printed.
run_matrix() {
	read_policy
	cells=0
	printf '%-18s' role >"$WORK/matrix"
	for p in $ACTIONS $APIS session:end; do printf ' %s' "$p" >>"$WORK/matrix"; done
	echo >>"$WORK/matrix"
	for r in $ROLES; do
		u=$(echo "$r" | tr '._' '--')
		printf '%-18s' "$r" >>"$WORK/matrix"
		for p in $ACTIONS $APIS session:end; do
			check_cell "$r" "$u" "$p"
			printf ' %s' "$([ "$got" = allow ] && echo yes || echo no)" >>"$WORK/matrix"
			cells=$((cells + 1))
		done
		echo >>"$WORK/matrix"
	done
	cat "$WORK/matrix" >&2
	pass "$cells cells of the role x permission matrix match policy.conf"
}

# check_cell ROLE USER PERM: sets got; fails when it is not what the policy says.
check_cell() {
	case $3 in
	session:end)
		want=refuse
		if allowed "$1" session:end:any; then want=allow; fi
		case $1 in customer_*) if allowed "$1" session:end:site; then want=allow; fi ;; esac
		got=$(check_end "$2") ;;
	session:request|devices:view|approvals:*|sites:view|site:*|repo:publish)
		want=refuse; if allowed "$1" "$3"; then want=allow; fi
		got=$(check_api "$2" "$3") ;;
	*)
		want=refuse
		if allowed "$1" session:request && allowed "$1" "$3"; then want=allow; fi
		got=$(check_action "$2" "$3") ;;
	esac
	[ "$got" = "$want" ] || fail "$1 / $3: the policy says $want, the server said $got"
}

run_matrix

# Some cells must differ between levels, or the test proves little.
if ! allowed specialist.3 shell || allowed specialist.2 shell; then
	fail "policy.conf default: level 3 alone should have a shell"
fi
if ! allowed specialist.2 forward:http || allowed specialist.1 forward:http; then
	fail "policy.conf default: level 2 should add other services"
fi

audit_has session_denied '"user":"specialist-1"' "a refused action"
audit_has session_denied 'does not permit shell' "the refusal names the action"
audit_has access_denied '"permission":"approvals:decide"' "a refused API call"
audit_has access_denied '"role":"customer_viewer"' "the refusal names the role"
audit_has session_denied '"permission":"session:request"' "a request by a role without session:request"

# The matrix follows the file: change it, restart, and check again.
kill "$PID_server"
wait_for 10 sh -c "! kill -0 $PID_server" || fail "server did not stop"
sed -i -e 's/^role.specialist.1 = .*/role.specialist.1 = devices:view session:request diag:* files:write/' \
	-e 's/^role.specialist.3 = .*/role.specialist.3 = @specialist.2 shell patient_records/' \
	-e 's/^role.customer_viewer = .*/role.customer_viewer = devices:view/' "$SRV/policy.conf"
tether-server policy check --dir "$SRV" >/dev/null || fail "the edited policy is refused"
bg server tether-server run --dir "$SRV"
wait_port "$SERVER_PORT"
wait_online 40
run_matrix
if ! allowed specialist.1 diag:selftest || allowed specialist.1 forward:screen; then
	fail "the edited policy.conf was not read as edited"
fi
audit_has session_request '"customer":"approval"' "patient records need the customer's approval"

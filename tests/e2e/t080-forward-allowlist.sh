#!/bin/sh
# A forward to a port that is not in the device's allowlist is refused and audited.
. "$(dirname "$0")/lib.sh"

full_stack 1
secret_port=$(free_port)
bg secret-service socat "TCP-LISTEN:$secret_port,bind=127.0.0.1,reuseaddr,fork" SYSTEM:"echo patient-records"
wait_port "$secret_port"
LPORT=$(free_port)
setup_askpass "$SUPPORT_PW"
sid=$(tether session request "$SERIAL" --reason "TCK-7 allowlist")
wait_consent_pending "$sid"
agent_consent accept "$sid" >/dev/null
tether session wait "$sid" --timeout 30 >/dev/null || fail "not consented"
bg ssh ssh -F /dev/null -N -o ProxyCommand="tether connect $sid" \
	-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR \
	-o PreferredAuthentications=password \
	-L "127.0.0.1:$LPORT:127.0.0.1:$secret_port" support@device
wait_port "$LPORT" 30
out=$(curl -sS --max-time 5 "http://127.0.0.1:$LPORT/" 2>&1 || true)
expect_not_contains "$out" "patient-records" "no bytes from a service outside the allowlist"
wait_for 10 grep -q "$secret_port" "$AGENT_DIR/state/audit.log" || fail "refusal not audited"
expect_contains "$(grep "$secret_port" "$AGENT_DIR/state/audit.log")" "refused" "the device audits the refused forward"

#!/bin/sh
# Login and enrollment are rate-limited per source address (token buckets,
# small ratelimit.* values in this deployment): past the burst the server
# answers 429 with Retry-After before looking at the password or the
# token, and audits the refusal; another address is not affected.
. "$(dirname "$0")/lib.sh"

deploy 0
set_server_conf ratelimit.login_burst 3
set_server_conf ratelimit.login_per_min 1
set_server_conf ratelimit.enroll_burst 2
set_server_conf ratelimit.enroll_per_min 1
restart_server
URL="https://127.0.0.1:$SERVER_PORT"
post() { # post PATH JSON: headers and body of the answer
	curl -sS -i --cacert "$SRV/ca/root.crt" -H 'Content-Type: application/json' \
		--data "$2" "$URL$1"
}

for i in 1 2 3; do
	out=$(post /api/v1/login "{\"user\":\"$SPEC_USER\",\"password\":\"wrong-$i\"}")
	expect_contains "$out" "bad_credentials" "login $i within the burst is checked"
done
out=$(post /api/v1/login "{\"user\":\"$SPEC_USER\",\"password\":\"$SPEC_PW\"}")
expect_contains "$out" "HTTP/1.1 429" "the fourth login from this address is refused"
expect_contains "$out" "Retry-After: " "... with Retry-After"
expect_contains "$out" "rate_limited" "... saying why"
audit_has login_failed '"reason":"rate_limited"' "the refused login is audited"

for i in 1 2; do
	out=$(post /api/v1/enroll "{\"serial\":\"SN-R$i\",\"token\":\"nope\",\"csr\":\"x\",\"ssh_hostkey\":\"x\"}")
	expect_not_contains "$out" "rate_limited" "enrollment $i within the burst is looked at"
done
out=$(post /api/v1/enroll '{"serial":"SN-R3","token":"nope","csr":"x","ssh_hostkey":"x"}')
expect_contains "$out" "HTTP/1.1 429" "the third enrollment from this address is refused"
expect_contains "$out" "Retry-After: " "... with Retry-After"
audit_has enroll_failed '"reason":"rate_limited"' "the refused enrollment is audited"

# The limits are per address: the server also listens on 127.0.0.1 only,
# so another source address on loopback stands for another client.
out=$(curl -sS -i --interface 127.0.0.3 --cacert "$SRV/ca/root.crt" \
	-H 'Content-Type: application/json' \
	--data "{\"user\":\"$SPEC_USER\",\"password\":\"wrong\"}" "$URL/api/v1/login")
expect_contains "$out" "bad_credentials" "another address still gets its logins checked"

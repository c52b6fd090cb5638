#!/bin/sh
# Every certificate comes from one CA, and here the relay's is valid for the
# server's own address: still, the CLI does not talk to a relay as if it
# were the server: it pins the role in the certificate (as the agent and the
# relay's report client do; unit test_tls covers the mechanism).
. "$(dirname "$0")/lib.sh"

deploy 1
out=$(TETHER_PASSWORD="$SPEC_PW" tether login --server "https://127.0.0.1:$RELAY_1_CLIENT_PORT" \
	--ca "$SRV/ca/root.crt" --user "$SPEC_USER" 2>&1) && fail "login to a relay succeeded: $out"
expect_contains "$out" "another role" "the CLI refuses a relay's certificate for the server"


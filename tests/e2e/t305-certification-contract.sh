#!/bin/sh
# A specialist needs a current certification for the device's product
# family, and the device's site a current service contract; each refusal
# says why and is audited.
. "$(dirname "$0")/lib.sh"

full_stack 1
random_password >"$WORK/pw-nocert"
tether-server user add nocert --role specialist --level 2 --region US --dir "$SRV" \
	>"$WORK/code-nocert" 2>>"$WORK/init.log" || fail "user add nocert"
add_user lapsed specialist 2 US
YESTERDAY=$(date_in_days -1)
tether-server user certify lapsed --product injector --until "$YESTERDAY" --dir "$SRV" \
	2>>"$WORK/init.log" || fail "user certify lapsed"
audit_has user_certify "\"until\":\"$YESTERDAY\"" "the certification change"
login_user nocert
login_user lapsed

# request HOME: `tether session request` as that user; prints stderr + stdout.
request() {
	TETHER_HOME="$1" tether session request "$SERIAL" --reason "TCK-305" --service http 2>&1
}

out=$(request "$WORK/home-nocert") && fail "uncertified specialist got a session: $out"
expect_contains "$out" "you hold no certification for product family injector" \
	"no certification: refused with the product named"
out=$(request "$WORK/home-lapsed") && fail "lapsed certification got a session: $out"
expect_contains "$out" "your certification for product family injector expired on $YESTERDAY" \
	"lapsed certification: refused with its expiry"
audit_has session_denied '"user":"nocert"' "the uncertified request"
audit_has session_denied "expired on $YESTERDAY" "the lapsed request"

# A renewed certification works.
tether-server user certify lapsed --product injector --until "$(date_in_days 30)" --dir "$SRV" \
	2>>"$WORK/init.log" || fail "renew"
id=$(request "$WORK/home-lapsed") || fail "renewed certification refused: $id"
TETHER_HOME="$WORK/home-lapsed" tether session end "$id" >/dev/null || fail "end $id"
pass "a renewed certification is accepted"

# The site's contract lapses: new sessions are refused with the date.
tether-server site set "$SITE" --contract-until "$YESTERDAY" --dir "$SRV" 2>>"$WORK/init.log" ||
	fail "site set"
audit_has site_set "\"contract_until\":\"$YESTERDAY\"" "the contract change"
out=$(request "$TETHER_HOME") && fail "a session was granted on an expired contract: $out"
expect_contains "$out" "the service contract for site $SITE expired on $YESTERDAY" \
	"expired contract: refused with site and date"
audit_has session_denied "the service contract for site $SITE expired" "the contract refusal"

tether-server site set "$SITE" --contract-until "$(date_in_days 365)" --dir "$SRV" \
	2>>"$WORK/init.log" || fail "site set"
id=$(request "$TETHER_HOME") || fail "renewed contract refused: $id"
pass "a renewed contract is accepted"
tether session end "$id" >/dev/null
expect_contains "$(tether-server audit verify --dir "$SRV")" "intact" "server audit chain verifies"

#!/bin/sh
# The administrator's lifecycle on the server host: devices, users, relays
# and product families are listed, changed and removed with tether-server
# commands, each change audited; bad input is refused in plain words: a
# product family typo, a region that is no ISO 3166 code (a lowercase one is
# made upper case), a device whose customer is not its site's, and
# duplicates, with no SQL text. A disabled user's logins are revoked and a
# new login is refused until the user is enabled again.
. "$(dirname "$0")/lib.sh"

deploy 1
cli_login
ts() { tether-server "$@" --dir "$SRV"; }

# every new subcommand answers --help with its usage and exit 0
for c in "device list" "device reissue-token" "user list" "user set" "user disable" \
	"user enable" "relay list" "relay remove" "product add" "product list"; do
	# shellcheck disable=SC2086
	out=$(tether-server $c --help 2>&1) || fail "tether-server $c --help exited non-zero"
	expect_contains "$out" "  tether-server $c" "$c --help prints its usage"
done

# product families: before any is registered anything goes, with a note
out=$(tether-server device add SN-OLD --customer "St Example Hospital" --product injector \
	--site "$SITE" --dir "$SRV" 2>&1) || fail "device add before the registry: $out"
expect_contains "$out" "no product family is registered yet" "the note on an empty registry"
out=$(ts product add injector 2>&1) || fail "product add: $out"
out=$(ts product add injector 2>&1) && fail "a duplicate product family was accepted"
expect_contains "$out" "registered already" "a duplicate family is refused plainly"
expect_contains "$(ts product list)" "injector" "product list shows the family"
expect_contains "$(ts product list --json | tr -d ' \n')" '"name":"injector"' "product list --json"
out=$(tether-server device add SN-TYPO --customer "St Example Hospital" --product injektor \
	--site "$SITE" --dir "$SRV" 2>&1) && fail "a typo'd product family was accepted"
expect_contains "$out" "injektor is not a registered product family (registered: injector)" \
	"a typo'd family is refused, naming the registered ones"
out=$(ts user certify "$SPEC_USER" --product injektor --until "$(date_in_days 30)" 2>&1) &&
	fail "user certify took a typo'd family"
expect_contains "$out" "not a registered product family" "user certify refuses the typo too"
audit_has product_add injector "the registration"

# a device's customer is its site's
out=$(tether-server device add SN-X --customer "Other Clinic" --product injector \
	--site "$SITE" --dir "$SRV" 2>&1) && fail "a device with another customer was accepted"
expect_contains "$out" "is not the customer of site $SITE" "a mismatched customer is refused"
# a duplicate serial says so, with no SQL
out=$(tether-server device add SN-OLD --customer "St Example Hospital" --product injector \
	--site "$SITE" --dir "$SRV" 2>&1) && fail "a duplicate serial was accepted"
expect_contains "$out" "a device with this serial exists already" "a duplicate serial, plainly"
expect_not_contains "$out" "constraint" "no SQL text for a duplicate serial"
expect_not_contains "$out" "UNIQUE" "no SQL text for a duplicate serial"
list=$(ts device list)
expect_contains "$list" "SN-OLD" "device list shows the device"
expect_contains "$(ts device list --json | tr -d ' \n')" '"serial":"SN-OLD"' "device list --json"

# users: regions are ISO 3166 codes, a lowercase one is made upper case
ts user add lower --role specialist --region us >/dev/null 2>&1 || fail "user add --region us"
expect_contains "$(ts user list | grep '^lower ')" " US " "region us is kept as US"
out=$(ts user add badregion --role specialist --region XX 2>&1) && fail "region XX was accepted"
expect_contains "$out" "ISO 3166 country code" "a region that is no country is refused"
out=$(ts user add lower --role specialist --region US 2>&1) && fail "a duplicate user was accepted"
expect_contains "$out" "a user with this name exists already" "a duplicate user, plainly"
expect_not_contains "$out" "constraint" "no SQL text for a duplicate user"
out=$(ts user set lower --level 3 --region de 2>&1) || fail "user set: $out"
expect_contains "$out" "level 3, region DE" "user set changes level and region"
expect_contains "$(ts user list --json | tr -d ' \n')" '"name":"lower","role":"specialist","level":3,"region":"DE"' \
	"user list --json shows the change"
out=$(ts user set lower --region zz 2>&1) && fail "user set took region zz"
expect_contains "$out" "ISO 3166" "user set refuses a bad region"
out=$(ts user set lower --role customer_approver 2>&1) && fail "a customer role without a site"
expect_contains "$out" "give --site SITE" "a customer role needs its site"
ts user set lower --role customer_viewer --site "$SITE" >/dev/null || fail "user set --site"
expect_contains "$(ts user list | grep '^lower ')" "$SITE" "the user is at the site"
audit_has user_set '"region":"DE"' "user set"

# relays
expect_contains "$(ts relay list)" "relay-1" "relay list shows the relay"
out=$(ts relay remove relay-1 2>&1) || fail "relay remove: $out"
expect_not_contains "$(ts relay list)" "relay-1" "the relay is gone from the list"
out=$(ts relay remove relay-1 2>&1) && fail "removing a missing relay succeeded"
expect_contains "$out" "no relay with this name" "removing it twice is refused plainly"
audit_has relay_remove relay-1 "relay remove"

# a disabled user's logins are revoked and a new one is refused
tether devices >/dev/null 2>&1 || fail "the specialist's login does not work before disable"
out=$(ts user disable "$SPEC_USER" --reason "TCK-750 left the company" 2>&1) ||
	fail "user disable: $out"
expect_contains "$out" "revoked, and logging in is refused" "disable revokes the logins"
tether devices >/dev/null 2>&1 && fail "a disabled user's token still works"
code=$(totp_code "$SPEC_USER")
out=$(TETHER_PASSWORD="$SPEC_PW" TETHER_TOTP="$code" tether login \
	--server "https://127.0.0.1:$SERVER_PORT" --ca "$SRV/ca/root.crt" --user "$SPEC_USER" 2>&1) &&
	fail "a disabled user logged in"
expect_contains "$out" "disabled" "the login refusal says the account is disabled"
audit_has user_disable "TCK-750" "user disable"
audit_has login_refused '"reason":"disabled"' "the refused login"
ts user enable "$SPEC_USER" >/dev/null || fail "user enable"
cli_login
tether devices >/dev/null || fail "the enabled user cannot use the API"
audit_has user_enable "$SPEC_USER" "user enable"
tether-server audit verify --dir "$SRV" >/dev/null || fail "the audit chain broke"
pass "admin lifecycle"

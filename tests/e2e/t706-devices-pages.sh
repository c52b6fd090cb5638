#!/bin/sh
# GET /api/v1/devices comes in pages (issue 12: one list of every device,
# built on the event loop, took 3.6 s with 10,000 agents held): ?limit=N gives
# N devices in serial order and "next", the serial to ask ?after= for the
# next page; the last page says null; bad values are 400; `tether devices`
# follows the pages.
. "$(dirname "$0")/lib.sh"

deploy 1
for n in 1 2 3 4 5; do enroll_token "SN-PAGE-$n" >/dev/null; done
cli_login

serials() { jq -r '.devices[].serial' | tr '\n' ' '; }
p1=$(api GET "/api/v1/devices?limit=2")
[ "$(printf '%s' "$p1" | serials)" = "SN-PAGE-1 SN-PAGE-2 " ] || fail "page 1: $p1"
[ "$(printf '%s' "$p1" | jq -r .next)" = SN-PAGE-2 ] || fail "page 1's next: $p1"
p2=$(api GET "/api/v1/devices?limit=2&after=SN-PAGE-2")
[ "$(printf '%s' "$p2" | serials)" = "SN-PAGE-3 SN-PAGE-4 " ] || fail "page 2: $p2"
p3=$(api GET "/api/v1/devices?limit=2&after=$(printf '%s' "$p2" | jq -r .next)")
[ "$(printf '%s' "$p3" | serials)" = "SN-PAGE-5 " ] || fail "page 3: $p3"
[ "$(printf '%s' "$p3" | jq -r .next)" = null ] || fail "the last page names a next: $p3"
pass "pages of 2 walk the 5 devices in serial order, the last says next null"

all=$(api GET "/api/v1/devices")
[ "$(printf '%s' "$all" | jq '.devices | length')" = 5 ] || fail "the default page: $all"
[ "$(printf '%s' "$all" | jq -r .next)" = null ] || fail "the default page's next: $all"
pass "without limit, one page of up to 500"

for q in "limit=0" "limit=1001" "limit=x" "after=..%2Fx"; do
	[ "$(http_status "$WORK/bad.json" GET "/api/v1/devices?$q")" = 400 ] || fail "?$q was not refused: $(cat "$WORK/bad.json")"
done
pass "a bad limit or after is 400"

out=$(tether --json devices) || fail "tether devices: $out"
[ "$(printf '%s' "$out" | jq '.devices | length')" = 5 ] || fail "tether --json devices: $out"
tether devices | grep -q 'SN-PAGE-5' || fail "tether devices lacks SN-PAGE-5"
pass "tether devices lists them all"

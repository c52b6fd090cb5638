#!/bin/sh
# Raw upload chunks (issue 9, sections 2 and 6): `PUT /api/v1/device/file?
# sha256=&size=&offset=` takes a data file's bytes as they are. A connection
# takes a chunk over 256 KiB only after one of the device's requests was
# authenticated on it, so nobody without a device certificate makes the
# server hold more; the declared size bounds the part (it is in its name,
# so the quota checked at offset 0 holds for it); a wrong offset writes
# nothing and says what is held; a bad query is refused naming the key; the
# finishing JSON request checks the SHA-256 (a mismatch is refused and the
# part dropped); the quota is checked on the raw route too. The agent, with
# upload_rate 0, sends a 9 MiB file in chunks of up to 4 MiB on one kept
# connection and the server keeps it whole.
. "$(dirname "$0")/lib.sh"

D="$WORK/device/logs"
mkdir -p "$D"
chmod 755 "$WORK/device" "$D"
head -c 9437184 /dev/urandom >"$D/big.bin"        # 9 MiB: 4 + 4 + 1
chmod 644 "$D/big.bin"
BIG_SHA=$(sha256sum "$D/big.bin" | cut -d' ' -f1)

SERVER_EXTRA_CONF="files.quota_mb = 12"
deploy 1
AGENT_EXTRA_CONF="collect.logs = $D/*.bin max_file=16M max_total=16M every=1h
upload_rate = 0"
agent_setup "$SERIAL"
cli_login
wait_online
STATE="$AGENT_DIR/state"
URL="https://127.0.0.1:$SERVER_PORT/api/v1/device/file"
DEV="--cacert $SRV/ca/root.crt --cert $STATE/device.crt --key $STATE/device.key"

# The agent's own upload: large chunks, one connection, the file whole.
wait_for 60 test -f "$SRV/files/blobs/$BIG_SHA" ||
	fail "the agent's 9 MiB file was not stored: $(grep -i 'file\|collect' "$WORK/agent.log" | tail -5)"
puts=$(grep -c 'PUT /api/v1/device/file 200' "$WORK/server.log" || true)
[ "$puts" -ge 3 ] && [ "$puts" -le 4 ] ||
	fail "the agent sent 9 MiB in $puts raw chunks (4 MiB chunks make 3)"
[ "$(sha256sum <"$SRV/files/blobs/$BIG_SHA" | cut -d' ' -f1)" = "$BIG_SHA" ] ||
	fail "the stored file's bytes differ from the device's"
pass "the agent uploads 9 MiB in $puts raw chunks, stored whole under its SHA-256"

# curl_dev ARGS...: as the device; prints the status, then the body
curl_dev() {
	# shellcheck disable=SC2086
	curl -sS $DEV -w '\n%{http_code}\n' "$@"
}
status_of() { printf '%s\n' "$1" | tail -1; }

# A chunk over 256 KiB as a connection's first request: refused, unread.
head -c 1048576 /dev/urandom >"$WORK/one.bin"
ONE_SHA=$(sha256sum "$WORK/one.bin" | cut -d' ' -f1)
out=$(curl_dev -T "$WORK/one.bin" "$URL?sha256=$ONE_SHA&size=1048576&offset=0") || true
[ "$(status_of "$out")" = 413 ] || fail "a 1 MiB chunk as the first request got $(status_of "$out")"
[ ! -e "$SRV/files/partial/$SERIAL+$ONE_SHA+1048576.part" ] || fail "the refused chunk left a part"
pass "a connection's first request may not carry more than 256 KiB, even with a device certificate"

# Without a device certificate: refused before anything is kept.
out=$(curl -sS --cacert "$SRV/ca/root.crt" -w '\n%{http_code}\n' -T "$WORK/one.bin" \
	"$URL?sha256=$ONE_SHA&size=1048576&offset=0") || true
[ "$(status_of "$out")" = 413 ] || fail "1 MiB without a certificate got $(status_of "$out")"
head -c 1000 "$WORK/one.bin" >"$WORK/small.bin"
out=$(curl -sS --cacert "$SRV/ca/root.crt" -w '\n%{http_code}\n' -T "$WORK/small.bin" \
	"$URL?sha256=$ONE_SHA&size=1048576&offset=0") || true
[ "$(status_of "$out")" = 401 ] || fail "a chunk without a certificate got $(status_of "$out")"
expect_contains "$out" "client_cert_required" "a chunk without a certificate is refused (401)"

# After a device request on the same connection (curl --next reuses it):
# the 1 MiB chunk is taken.
META="{\"collection\":\"manual\",\"path\":\"/var/log/one.bin\",\"collected_at\":1000000001,\"size\":1048576,\"sha256\":\"$ONE_SHA\",\"mtime\":1"
# shellcheck disable=SC2086
out=$(curl -sS $DEV -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
	--data "$META,\"offset\":0,\"data\":\"\"}" "$URL" \
	--next $DEV -w '%{http_code} %{num_connects}\n' -o "$WORK/put.out" -T "$WORK/one.bin" \
	"$URL?sha256=$ONE_SHA&size=1048576&offset=0") || fail "probe and chunk: $out"
[ "$(printf '%s\n' "$out" | sed -n 2p)" = "200 0" ] ||
	fail "the 1 MiB chunk after a device request on the same connection: $out"
expect_contains "$(cat "$WORK/put.out")" '"have":1048576' "the chunk's answer says what the server holds"
[ "$(stat -c %s "$SRV/files/partial/$SERIAL+$ONE_SHA+1048576.part")" = 1048576 ] ||
	fail "the part does not hold the chunk"
pass "after an authenticated device request, the same connection takes a 1 MiB chunk"

# A wrong offset writes nothing and says what is held.
out=$(curl_dev -T "$WORK/small.bin" "$URL?sha256=$ONE_SHA&size=1048576&offset=5") || true
[ "$(status_of "$out")" = 200 ] || fail "a wrong offset got $(status_of "$out")"
expect_contains "$out" '"have":1048576' "a chunk at the wrong offset is answered with what is held"

# Past the declared size: refused, the part unchanged.
head -c 2000 /dev/urandom >"$WORK/two.bin"
out=$(curl_dev -T "$WORK/two.bin" "$URL?sha256=$BIG_SHA&size=1000&offset=0") || true
[ "$(status_of "$out")" = 400 ] || fail "bytes past the declared size got $(status_of "$out")"
expect_contains "$out" "run past the declared size" "bytes past the declared size are refused"
[ ! -s "$SRV/files/partial/$SERIAL+$BIG_SHA+1000.part" ] || fail "bytes past the declared size were kept"

# Bad queries, each named.
for q in "size=10&offset=0" "sha256=xyz&size=10&offset=0" "sha256=$ONE_SHA&size=10&offset=11" \
	"sha256=$ONE_SHA&size=10&offset=0&x=1" "sha256=$ONE_SHA&size=-1&offset=0" \
	"sha256=$ONE_SHA&size=10&size=10&offset=0"; do
	out=$(curl_dev -T "$WORK/small.bin" "$URL?$q") || true
	[ "$(status_of "$out")" = 400 ] || fail "query $q got $(status_of "$out")"
	expect_contains "$out" 'query \"' "query $q is refused naming what is wrong"
done
pass "bad queries are refused with 400, naming the key"

# The finishing request: the part's bytes checked against the SHA-256.
out=$(curl_dev -H 'Content-Type: application/json' --data "$META,\"offset\":1048576,\"data\":\"\"}" "$URL") ||
	fail "finish: $out"
expect_contains "$out" '"done":true' "the finishing request keeps the file"
[ -f "$SRV/files/blobs/$ONE_SHA" ] || fail "the finished file is not kept under its SHA-256"
# A declared SHA-256 the bytes do not match: refused at the end, part dropped.
FAKE_SHA=$(printf 'not these bytes' | sha256sum | cut -d' ' -f1)
BAD_META="{\"collection\":\"manual\",\"path\":\"/var/log/liar.bin\",\"collected_at\":1000000002,\"size\":1000,\"sha256\":\"$FAKE_SHA\",\"mtime\":1"
curl_dev -T "$WORK/small.bin" "$URL?sha256=$FAKE_SHA&size=1000&offset=0" >/dev/null || true
out=$(curl_dev -H 'Content-Type: application/json' --data "$BAD_META,\"offset\":1000,\"data\":\"\"}" "$URL") || true
[ "$(status_of "$out")" = 400 ] || fail "a mismatching file got $(status_of "$out")"
expect_contains "$out" "sha256_mismatch" "bytes that do not match the declared SHA-256 are refused"
[ ! -e "$SRV/files/partial/$SERIAL+$FAKE_SHA+1000.part" ] || fail "the mismatching part was kept"
[ ! -e "$SRV/files/blobs/$FAKE_SHA" ] || fail "the mismatching file was stored"
pass "the finishing request checks the bytes against the declared SHA-256"

# The quota holds on the raw route: 9 + 1 MiB kept, 12 MiB allowed.
head -c 5000 /dev/urandom >"$WORK/q.bin"
Q_SHA=$(sha256sum "$WORK/q.bin" | cut -d' ' -f1)
out=$(curl_dev -T "$WORK/q.bin" "$URL?sha256=$Q_SHA&size=4194304&offset=0") || true
[ "$(status_of "$out")" = 413 ] || fail "a chunk of a file over the quota got $(status_of "$out")"
expect_contains "$out" "files.quota_mb" "the raw route refuses a file over the quota"
[ ! -e "$SRV/files/partial/$SERIAL+$Q_SHA+4194304.part" ] || fail "the file over the quota left a part"
wait_for 10 sh -c "tether-server audit list --dir '$SRV' | grep file_refused | grep -q '$Q_SHA'" ||
	fail "the quota refusal on the raw route is not audited"
pass "the quota is checked on the raw route too, and the refusal audited"

# The server still serves, and the device's own upload is listed.
list=$(tether files list "$SERIAL") || fail "files list: $list"
expect_contains "$list" "big.bin" "the agent's file is listed"
tether-server audit verify --dir "$SRV" >/dev/null || fail "server trail broken"
pass "the server keeps serving; its audit trail verifies"

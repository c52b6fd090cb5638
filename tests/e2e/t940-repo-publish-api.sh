#!/bin/sh
# Publishing through the API (issue 10, section 1): a release manager runs
# `tether repo publish DIR` with the roles signed offline; the server (run
# as root dropping to nobody, as on a real host) takes the uploads into
# DIR/repo/incoming and checks them exactly as `tether-server repo publish`
# does, on a thread of its own, before anything is served. Shown: a
# release published by a release manager, into a family folder an
# administrator's publication made as root; bytes that are not the signed
# ones refused with the reason, nothing of them served, and the same
# folder published once mended; repo:publish required; the upload's
# bounds (undeclared targets, paths outside the layout, another user's
# publication, publishing twice); the outcome audited with the release
# manager as actor.
. "$(dirname "$0")/lib.sh"

deploy 1
if [ "$(id -u)" = 0 ]; then
	# As on a host: DIR root-owned, the server dropping to a service user.
	chmod 711 "$WORK"
	set_server_conf user nobody
	restart_server
fi
add_user rel release_manager 1 US
login_user rel
rm_cli() { TETHER_HOME="$WORK/home-rel" tether "$@"; }
R="$WORK/rm/R"
ts_version() { jq -r .signed.version "$SRV/repo/metadata/timestamp.json" 2>/dev/null || echo 0; }
served_get() {   # served_get PATH: the body of GET /repo/PATH (public)
	curl -sS --fail --cacert "$SRV/ca/root.crt" "https://127.0.0.1:$SERVER_PORT/repo/$1"
}
target_url() {   # target_url NAME: targets/injector/SHA.NAME as the role signed it
	_sha=$(jq -r ".signed.targets[\"injector/$1\"].hashes.sha256" "$R/metadata/injector.json")
	echo "targets/injector/$_sha.$1"
}

# --- an administrator's first publication (as root), then a release manager's ---
head -c 3000 /dev/urandom >"$WORK/pump-2.1.raucb"
repo_publish "$WORK/rm" "$WORK/pump-2.1.raucb"
head -c 700000 /dev/urandom >"$WORK/pump-2.2.raucb"
tether repo add "$R" "$WORK/pump-2.2.raucb" --role injector --name injector/pump-2.2.raucb \
	--product injector --hardware inj-a --component pump-fw --version 2.2 --counter 8 >/dev/null ||
	fail "repo add 2.2"
tether repo sign "$R" injector --key "$WORK/rm/injector" >/dev/null || fail "repo sign 2.2"
v0=$(ts_version)
out=$(rm_cli repo publish "$R" 2>&1) || fail "tether repo publish refused a signed release: $out"
expect_contains "$out" "published p" "the publication is reported"
expect_contains "$out" "injector version 2, 2 target(s)" "the server says what it took in"
wait_for 20 sh -c "[ \"\$(jq -r .signed.version '$SRV/repo/metadata/timestamp.json')\" != $v0 ]" ||
	fail "the server signed no new timestamp after the publication"
served_get "$(target_url pump-2.2.raucb)" >"$WORK/got-2.2" || fail "the release is not served"
cmp -s "$WORK/got-2.2" "$WORK/pump-2.2.raucb" || fail "the served release is not the uploaded file"
served_get metadata/2.injector.json | jq -e '.signed.targets["injector/pump-2.2.raucb"]' >/dev/null ||
	fail "the served role does not list the release"
pass "a release manager publishes through the API into a folder an administrator made as root"
audit_has repo_published "injector version 2" "the publication"
tether-server audit list --dir "$SRV" 2>/dev/null | awk '$4 == "repo_published"' | tail -1 |
	grep -q " rel " || fail "the publication's record does not name the release manager as actor"
pass "the record names the release manager"
[ -z "$(ls -A "$SRV/repo/incoming")" ] || fail "the upload was left in incoming: $(ls -A "$SRV/repo/incoming")"
pass "nothing of the upload is left in incoming"
out=$(rm_cli repo publish "$R" 2>&1) || fail "publishing the same folder again failed: $out"
expect_contains "$out" "nothing new" "the same folder again adds nothing"

# --- bytes that are not the signed ones ------------------------------------------
head -c 50000 /dev/urandom >"$WORK/pump-2.3.raucb"
tether repo add "$R" "$WORK/pump-2.3.raucb" --role injector --name injector/pump-2.3.raucb \
	--product injector --hardware inj-a --component pump-fw --version 2.3 --counter 9 >/dev/null ||
	fail "repo add 2.3"
tether repo sign "$R" injector --key "$WORK/rm/injector" >/dev/null || fail "repo sign 2.3"
cp "$R/targets/injector/pump-2.3.raucb" "$WORK/good-2.3"
head -c 50000 /dev/urandom >"$R/targets/injector/pump-2.3.raucb"   # same length, other bytes
v1=$(ts_version)
if out=$(rm_cli repo publish "$R" 2>&1); then
	fail "a release with tampered bytes was published: $out"
fi
expect_contains "$out" "refused publication" "the release manager is told"
expect_contains "$out" "do not match the length and SHA-256" "the reason is the bytes"
audit_has repo_refused "pump-2.3.raucb" "the refusal"
curl -s -o /dev/null -w '%{http_code}' --cacert "$SRV/ca/root.crt" \
	"https://127.0.0.1:$SERVER_PORT/repo/$(target_url pump-2.3.raucb)" | grep -qx 404 ||
	fail "the refused release is served"
[ ! -e "$SRV/repo/metadata/3.injector.json" ] || fail "the refused role version is served"
sleep 2
[ "$(ts_version)" = "$v1" ] || fail "a refused publication made a new timestamp"
[ -z "$(ls -A "$SRV/repo/incoming")" ] || fail "the refused upload was left in incoming"
pass "tampered bytes are refused and nothing of them is served"
cp "$WORK/good-2.3" "$R/targets/injector/pump-2.3.raucb"
out=$(rm_cli repo publish "$R" 2>&1) || fail "the mended folder was refused: $out"
expect_contains "$out" "injector version 3" "the mended folder is published"
served_get "$(target_url pump-2.3.raucb)" | cmp -s - "$WORK/good-2.3" ||
	fail "the mended release is not served as signed"
pass "the same folder, mended, is published"

# --- who may publish ---------------------------------------------------------------
cli_login
if out=$(tether repo publish "$R" 2>&1); then
	fail "a specialist published: $out"
fi
expect_contains "$out" "repo:publish" "a user without repo:publish is told which permission"

# --- the upload's bounds ------------------------------------------------------------
id=$(api_as rel POST /api/v1/repo/publications '{}' | jq -r .id)
case "$id" in p*) ;; *) fail "no publication id: $id" ;; esac
put() {   # put QUERY FILE: the answer's status and body
	token=$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$WORK/home-rel/cli.json")
	curl -sS --cacert "$SRV/ca/root.crt" -X PUT -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/octet-stream' --data-binary "@$2" \
		-w ' %{http_code}' "https://127.0.0.1:$SERVER_PORT/api/v1/repo/publications/$id?$1"
}
printf 'x' >"$WORK/one"
expect_contains "$(put 'path=targets/injector/other.raucb&size=1&offset=0' "$WORK/one")" \
	"no uploaded role lists" "a target no uploaded role lists is refused"
expect_contains "$(put 'path=targets/../x&size=1&offset=0' "$WORK/one")" 'query \"path\" is not valid' \
	"a path outside the layout is refused"
expect_contains "$(put 'path=metadata/snap%2F..%2Fx.json&size=1&offset=0' "$WORK/one")" 'query \"path\" is not valid' \
	"a metadata name outside the layout is refused"
expect_contains "$(put 'path=metadata/targets.json&size=99999999&offset=0' "$WORK/one")" \
	'query \"size\" is not valid' "metadata over its bound is refused"
expect_contains "$(put 'path=metadata/targets.json&size=1&offset=0&x=1' "$WORK/one")" 'query \"query\" is not valid' \
	"an unknown query key is refused"
cp "$R/metadata/injector.json" "$WORK/inj.json"
sz=$(wc -c <"$WORK/inj.json")
expect_contains "$(put "path=metadata/injector.json&size=$sz&offset=0" "$WORK/inj.json")" \
	'"done":true' "a role is uploaded"
head -c 100 /dev/urandom >"$WORK/short"
expect_contains "$(put 'path=targets/injector/pump-2.3.raucb&size=100&offset=0' "$WORK/short")" \
	"its role declares 50000" "a target of another length than declared is refused"
out=$(api GET "/api/v1/repo/publications/$id" 2>&1 || true)
expect_contains "$out" "forbidden" "another user's (a specialist's) read is refused"
add_user rel2 release_manager 1 US
login_user rel2
expect_contains "$(api_as rel2 GET "/api/v1/repo/publications/$id")" "no publication $id of yours" \
	"another release manager does not see it"
api_as rel POST "/api/v1/repo/publications/$id/publish" | jq -e '.state == "importing"' >/dev/null ||
	fail "publish did not start"
expect_contains "$(api_as rel POST "/api/v1/repo/publications/$id/publish")" "already" \
	"publishing twice is refused"
pub_refused() { api_as rel GET "/api/v1/repo/publications/$id" | jq -e '.state == "refused"'; }
wait_for 20 pub_refused || fail "a role without targets was not refused: $(api_as rel GET "/api/v1/repo/publications/$id")"
expect_contains "$(api_as rel GET "/api/v1/repo/publications/$id" | jq -r .detail)" \
	"metadata/targets.json is missing" "a publication without targets is refused, saying so"
expect_contains "$(put 'path=metadata/targets.json&size=1&offset=0' "$WORK/one")" 'it takes no more files' \
	"a checked publication takes no more files"
if grep -E "ERROR|AddressSanitizer|runtime error" "$WORK/server.log" >&2; then
	fail "the server logged an error"
fi
pass "the server logged no error"

#!/bin/sh
# A relay on its own host makes its key there (`tether-relay init`); the
# server signs its CSR (`relay add --csr`) and never holds the private key.
# A CSR with a broken signature is refused and registers nothing.
. "$(dirname "$0")/lib.sh"

full_stack 0
RH="$WORK/relayhost"
RDIR="$SRV/relays/relay-x"

# --- on the relay host
csr=$(tether-relay init --dir "$RH" --name relay-x 2>"$WORK/relay-init.log") ||
	fail "tether-relay init: $(cat "$WORK/relay-init.log")"
[ "$csr" = "$RH/relay.csr" ] || fail "init printed '$csr', expected only the CSR path $RH/relay.csr"
pass "tether-relay init prints only the CSR path"
[ "$(stat -c %a "$RH/relay.key")" = 600 ] || fail "relay.key mode is $(stat -c %a "$RH/relay.key")"
pass "relay.key is 0600"
cp "$RH/relay.key" "$WORK/relay.key.before"
if tether-relay init --dir "$RH" --name relay-x >"$WORK/reinit.out" 2>&1; then
	fail "a second init overwrote nothing but still succeeded"
fi
expect_contains "$(cat "$WORK/reinit.out")" "exists already" "a second init is refused"
cmp -s "$RH/relay.key" "$WORK/relay.key.before" || fail "a second init changed relay.key"
pass "the existing key is left untouched"

# --- a CSR damaged on the way: one base64 character near the end of the
# body changes, inside the signature, so the PEM still parses
body=$(sed '1d;$d' "$csr" | tr -d '\n')
pos=$((${#body} - 10))
c=$(printf '%s' "$body" | cut -c"$pos")
if [ "$c" = A ]; then n=B; else n=A; fi
{
	echo "-----BEGIN CERTIFICATE REQUEST-----"
	printf '%s%s%s' "$(printf '%s' "$body" | cut -c1-$((pos - 1)))" "$n" \
		"$(printf '%s' "$body" | cut -c$((pos + 1))-)" | fold -w 64
	echo
	echo "-----END CERTIFICATE REQUEST-----"
} >"$WORK/bad.csr"
cmp -s "$csr" "$WORK/bad.csr" && fail "the damaged CSR equals the original"
dp=$(free_port); cp=$(free_port)
if tether-server relay add relay-x --host 127.0.0.1 --device-port "$dp" --client-port "$cp" \
	--csr "$WORK/bad.csr" --dir "$SRV" >"$WORK/bad-add.out" 2>"$WORK/bad-add.err"; then
	fail "relay add accepted a CSR with a broken signature"
fi
expect_contains "$(cat "$WORK/bad-add.err")" "signature does not verify" "broken CSR refused with a clear error"
[ ! -s "$WORK/bad-add.out" ] || fail "the refused relay add printed on stdout: $(cat "$WORK/bad-add.out")"
[ ! -e "$RDIR" ] || fail "the refused relay add left $RDIR behind"
expect_not_contains "$(tether-server audit list --dir "$SRV")" "relay_add" "nothing registered for the broken CSR"

# --- on the server host: sign the real CSR (copied over: it is public)
cp "$csr" "$WORK/relay-x.csr"
folder=$(tether-server relay add relay-x --host 127.0.0.1 --device-port "$dp" --client-port "$cp" \
	--csr "$WORK/relay-x.csr" --dir "$SRV" 2>"$WORK/add.err") ||
	fail "relay add --csr: $(cat "$WORK/add.err")"
[ "$folder" = "$RDIR" ] || fail "relay add printed '$folder', expected only $RDIR"
expect_contains "$(cat "$WORK/add.err")" "tether-relay.conf" "relay add says which files to copy"
[ ! -e "$RDIR/relay.key" ] || fail "relay add --csr wrote $RDIR/relay.key"
for f in relay.crt ca.crt ticket.pub tether-relay.conf; do
	[ -s "$RDIR/$f" ] || fail "relay add --csr did not write $f"
done
pass "the relay folder holds relay.crt, ca.crt, ticket.pub, tether-relay.conf and no key"
[ "$(openssl x509 -in "$RDIR/relay.crt" -noout -pubkey)" = "$(openssl pkey -in "$RH/relay.key" -pubout)" ] ||
	fail "relay.crt does not certify the key made on the relay host"
expect_contains "$(openssl x509 -in "$RDIR/relay.crt" -noout -subject)" "relay-x" "the certificate names relay-x"

# The private key is nowhere under the server's folder: neither its PEM lines
# nor its raw scalar (searched in the hex of every file's bytes).
sed '1d;$d' "$RH/relay.key" >"$WORK/keylines"
priv=$(openssl pkey -in "$RH/relay.key" -text -noout |
	sed -n '/^priv:/,/^pub:/p' | sed '1d;$d' | tr -d ' :\n')
[ ${#priv} -ge 60 ] || fail "could not read the private scalar (got '$priv')"
holds_key() {
	grep -qF -f "$WORK/keylines" "$1" && return 0
	case "$(od -An -v -tx1 "$1" | tr -d ' \n')" in *"$priv"*) return 0 ;; esac
	return 1
}
# The check itself must see the key in both forms.
openssl pkey -in "$RH/relay.key" -outform DER -out "$WORK/control.der"
holds_key "$RH/relay.key" && holds_key "$WORK/control.der" ||
	fail "the key search does not find the key in relay.key or its DER form"
find "$SRV" -type f >"$WORK/srvfiles"
[ -s "$WORK/srvfiles" ] || fail "no files found under $SRV"
while IFS= read -r f; do
	if holds_key "$f"; then fail "the relay's private key is in $f"; fi
done <"$WORK/srvfiles"
pass "no file under the server's folder holds the relay's private key"

# --- back on the relay host: the public files go next to the key
for f in relay.crt ca.crt ticket.pub tether-relay.conf; do cp "$RDIR/$f" "$RH/"; done
bg relay-x tether-relay run --config "$RH/tether-relay.conf"
wait_port "$dp"
wait_relay_up relay-x

LPORT=$(free_port)
start_forward "$LPORT"
expect_contains "$(fetch "$LPORT")" "device $SERIAL status page: all systems nominal" \
	"device page fetched through relay-x"
expect_contains "$(tether --json session status "$SESSION")" "relay-x" "the session went through relay-x"
expect_contains "$(cat "$RH/audit.log")" "$SESSION" "relay-x's audit log records the session"
tether-relay audit verify --config "$RH/tether-relay.conf" >/dev/null ||
	fail "relay-x audit chain does not verify"

out=$(tether-server audit list --dir "$SRV")
expect_contains "$out" "relay_add" "server audit records relay_add"
expect_contains "$out" '"key_made_on":"relay"' "the audit says the key was made on the relay"
expect_contains "$(tether-server audit verify --dir "$SRV")" "intact" "server audit chain verifies"

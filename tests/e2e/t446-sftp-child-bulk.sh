#!/bin/sh
# Bulk transfers through the SFTP child: a 24 MiB upload and download
# arrive intact, though the worker's pipe to the child (64 KiB) fills over
# and over, so the worker must stop reading the channel and go on when the
# child has taken its input, without losing or reordering a byte.
. "$(dirname "$0")/lib.sh"

D="$WORK/device"
mkdir -p "$D/up" "$WORK/local"
device_files "$D/up"
head -c 25165824 /dev/urandom >"$WORK/local/big.bin"
AGENT_EXTRA_CONF="files.up = $D/up"
full_stack 1
setup_askpass "$SUPPORT_PW"
sid=$(request_actions "TCK-436 bulk" files:read files:write)
consent_session "$sid"
ssh_master "$sid"
device_sftp put "put $WORK/local/big.bin $D/up/big.bin" || fail "put: $(cat "$WORK/sftp-put.out")"
cmp -s "$WORK/local/big.bin" "$D/up/big.bin" || fail "the upload differs"
pass "24 MiB uploaded intact"
device_sftp get "get $D/up/big.bin $WORK/local/back.bin" || fail "get: $(cat "$WORK/sftp-get.out")"
cmp -s "$WORK/local/big.bin" "$WORK/local/back.bin" || fail "the download differs"
pass "24 MiB downloaded intact"
want=$(sha256sum <"$WORK/local/big.bin" | cut -d' ' -f1)
expect_contains "$(agent_audit_detail file_write | grep big.bin)" "$want" "file_write audited with the upload's sha256"
ssh $DEVICE_SSH_OPTS -S "$WORK/ctl" -O exit device >/dev/null 2>&1 || true
tether session end "$sid" >/dev/null

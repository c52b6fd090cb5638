#!/bin/sh
# SIEM export of the audit trail (issue 9, section 5): a real rsyslog with
# its TLS module (gtls) on loopback receives RFC 5424 messages in RFC 5425
# octet-counted frames, the receiver's CA pinned; every record arrives with
# its seq and hash in the structured data; nothing is lost across a server
# SIGKILL or a receiver outage; the JSON-lines file holds every record too,
# rotated at its size limit with no line split; a wrong CA delivers nothing
# and says why; siem.syslog without its CA is a configuration error.
. "$(dirname "$0")/lib.sh"

siem_rx_available || skip "rsyslog with its TLS module is not installed (scripts/deps installs rsyslog and rsyslog-gnutls)"

X="$WORK/siem"
siem_receiver "$X"
siem_ca "$X" otherca
RX_PORT=$SIEM_PORT
start_rx() { siem_rx_start "$X"; }
stop_rx() { siem_rx_stop "$X"; }

SERVER_EXTRA_CONF="siem.syslog = 127.0.0.1:$RX_PORT
siem.syslog_ca = $X/ca.crt
siem.jsonl = $X/audit.jsonl
siem.jsonl_max_bytes = 4096
siem.jsonl_keep = 50"
deploy 1

# The seqs the receiver and the files have, and the trail's, one per line.
rx_seqs() { sed -n 's/.*\[tether@32473 seq="\([0-9]*\)".*/\1/p' "$X/received.log" 2>/dev/null | sort -nu; }
jl_seqs() { cat "$X"/audit.jsonl* 2>/dev/null | jq -r .seq | sort -nu; }
head_seq() { sqlite3 "$SRV/tether.db" "SELECT max(seq) FROM audit"; }
all_seqs() { seq 1 "$(head_seq)"; }
rx_complete() { [ "$(rx_seqs | wc -l)" -ge "$(head_seq)" ]; }
jl_complete() { [ "$(jl_seqs | wc -l)" -ge "$(head_seq)" ]; }
wait_all() {
	wait_for 90 rx_complete || fail "$1: the receiver has $(rx_seqs | wc -l) of $(head_seq) records"
	[ "$(rx_seqs)" = "$(all_seqs)" ] || fail "$1: the receiver's seqs are not 1..$(head_seq)"
}

wait_all "at start"
line=$(grep 'seq="1"' "$X/received.log" | head -1)
expect_contains "$line" "<85>1 " "RFC 5424: PRI authpriv.notice, version 1"
expect_contains "$line" " tether-server " "APP-NAME tether-server"
h1=$(sqlite3 "$SRV/tether.db" "SELECT hash FROM audit WHERE seq = 1")
expect_contains "$line" "hash=\"$h1\"" "the structured data carries the record's hash"
msg=$(printf '%s\n' "$line" | sed 's/^[^]]*] //' | sed 's/^\xef\xbb\xbf//')
[ "$(printf '%s' "$msg" | jq -r .hash)" = "$h1" ] || fail "the message is not the record as JSON: $msg"
[ "$(printf '%s' "$msg" | jq -r .action)" = init ] || fail "record 1 is not init: $msg"
pass "every record reaches rsyslog over TLS, framed, with seq and hash"

# The server killed mid-stream: what it had not yet handed over goes at the
# next start.
for n in 1 2 3 4 5 6; do enroll_token "SN-SIEM-$n" >/dev/null; done
sigkill_wait "$PID_server"
for n in 7 8 9; do enroll_token "SN-SIEM-$n" >/dev/null; done
server_restart 2
wait_all "after a server SIGKILL"
pass "nothing is lost across a server SIGKILL"

# The receiver away: the records wait, the server says so once, and all of
# them arrive when it is back.
stop_rx
for n in 10 11 12; do enroll_token "SN-SIEM-$n" >/dev/null; done
wait_for 20 sh -c "grep -q 'siem: syslog receiver 127.0.0.1:$RX_PORT' '$WORK/server-2.log'" ||
	fail "the server did not say the receiver is away"
cur=$(sqlite3 "$SRV/tether.db" "SELECT seq FROM siem_cursors WHERE sink = 'syslog'")
[ "$cur" -lt "$(head_seq)" ] || fail "the syslog cursor moved past what the receiver took"
start_rx
wait_all "after a receiver outage"
expect_contains "$(cat "$WORK/server-2.log")" "takes records again" "the server says the receiver is back"
pass "nothing is lost across a receiver outage"

# The JSON-lines file: every record, rotated, each line whole.
wait_for 20 jl_complete || fail "the JSON-lines files have $(jl_seqs | wc -l) of $(head_seq) records"
[ "$(jl_seqs)" = "$(all_seqs)" ] || fail "the JSON-lines seqs are not 1..$(head_seq)"
[ -s "$X/audit.jsonl.1" ] || fail "the file was never rotated at 4096 bytes"
for f in "$X"/audit.jsonl*; do
	jq -e . "$f" >/dev/null 2>&1 || fail "$f has a line that is not JSON"
done
[ "$(stat -c %a "$X/audit.jsonl")" = 600 ] || fail "audit.jsonl is not 0600"
pass "the JSON-lines file holds every record, rotated, no line split"

# A receiver whose CA is not the pinned one gets nothing.
stop_rx
: >"$X/received.log"
sed -i "s|^siem.syslog_ca = .*|siem.syslog_ca = $X/otherca.crt|" "$SRV/tether-server.conf"
sqlite3 "$SRV/tether.db" "DELETE FROM siem_cursors WHERE sink = 'syslog'"
kill "$PID_server"
wait_for 20 sh -c "! kill -0 $PID_server 2>/dev/null" || fail "the server did not stop"
start_rx
server_restart 3
wait_for 20 sh -c "grep -q 'siem: syslog receiver.*certificate' '$WORK/server-3.log'" ||
	fail "a receiver with a foreign CA was not refused with why: $(grep siem "$WORK/server-3.log")"
[ ! -s "$X/received.log" ] || fail "records went to a receiver whose CA is not pinned"
pass "a receiver not signed by the pinned CA gets nothing, and the log says why"

# siem.syslog without its CA is refused at start.
kill "$PID_server"
wait_for 20 sh -c "! kill -0 $PID_server 2>/dev/null" || fail "the server did not stop"
sed -i '/^siem.syslog_ca/d' "$SRV/tether-server.conf"
out=$(timeout 20 tether-server run --dir "$SRV" 2>&1) && fail "run started without siem.syslog_ca"
expect_contains "$out" "siem.syslog needs siem.syslog_ca" "the missing CA is a clear config error"

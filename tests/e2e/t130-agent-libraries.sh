#!/bin/sh
# The agent links only libc, OpenSSL, libevent, libssh, libsodium and jansson
# (plus the sanitizer runtimes in a test build): no libcurl, no SQLite.
. "$(dirname "$0")/lib.sh"

needed=$(readelf -d "$TETHER_BIN/tether-agent" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || fail "readelf found no NEEDED entries"
for lib in $needed; do
	case "$lib" in
	libc.so.*|libssl.so.*|libcrypto.so.*|libevent_core-*|libevent_extra-*|\
	libevent_openssl-*|libssh.so.*|libsodium.so.*|libjansson.so.*) ;;
	libasan.so.*|libubsan.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libgcc_s.so.*|libstdc++.so.*)
		# sanitizer runtimes and their libc companions, in test builds only
		;;
	*) fail "the agent links $lib, which is not in the allowed set" ;;
	esac
done
pass "agent links only: $(echo $needed | tr '\n' ' ')"
for forbidden in libcurl libsqlite3 libgnutls libldap; do
	expect_not_contains "$needed" "$forbidden" "agent does not link $forbidden"
done

/* fuzz_totp.c: what a login or a client hands to the one-time-code code:
 * a code to verify (src/lib/totp.c), base32 text to decode, a password
 * to check against the rules (src/server/pwrules.c), and an enrollment code
 * and its life as typed (src/server/invite.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invite.h"
#include "pwrules.h"
#include "totp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[TOTP_SECRET_BYTES] = "12345678901234567890";
	uint8_t dec[TOTP_MAX_KEY_BYTES];
	char why[PWRULES_WHY_BYTES], *s;
	int64_t matched;
	size_t n;

	if (size > 4096 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)totp_verify(key, sizeof(key), s, 1111111111, 0, &matched);
	if (totp_base32_decode(s, dec, sizeof(dec), &n) == 0 && n > 0) {
		char code[TOTP_CODE_BYTES], enc[2 * TOTP_MAX_KEY_BYTES];
		(void)totp_code(dec, n, 37037037, code);
		(void)totp_base32_encode(dec, n, enc, sizeof(enc));
	}
	(void)pwrules_check("alice", s, "old-password-1234", why, sizeof(why));
	{
		char hash[SHA256_HEX_BYTES];
		int64_t ttl;

		(void)invite_code_hash(s, hash);
		(void)invite_parse_ttl(s, &ttl);
	}
	free(s);
	return 0;
}

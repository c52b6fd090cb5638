/* fuzz_consent.c: the consent socket's request line parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "consent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct consent_line l;

	if (consent_parse_line((const char *)data, size, &l) == 0 &&
	    l.cmd != CONSENT_CMD_LIST && !consent_id_ok(l.id))
		__builtin_trap();   /* a parsed id must always be well formed */
	return 0;
}

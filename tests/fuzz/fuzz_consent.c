/* fuzz_consent.c: the consent socket's request line parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "consent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct consent_line l;
	int no_id;

	if (consent_parse_line((const char *)data, size, &l) != 0)
		return 0;
	no_id = l.cmd == CONSENT_CMD_LIST || l.cmd == CONSENT_CMD_STATUS ||
	        l.cmd == CONSENT_CMD_WATCH;
	if (no_id ? l.id[0] != '\0' : !consent_id_ok(l.id))
		__builtin_trap();   /* a parsed id must always be well formed */
	return 0;
}

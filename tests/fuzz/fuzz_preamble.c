/* fuzz_preamble.c: libFuzzer target for the relay preamble parser
 * (leg lines and the health question). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "preamble.h"

#define FUZZ_HEALTH_LINE PREAMBLE_MAGIC " " PREAMBLE_HEALTH_WORD "\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct preamble p;

	if (relay_preamble_parse((const char *)data, size, &p) != 0)
		return 0;
	if (p.health) {
		/* The health question is one exact line and carries no ticket. */
		if (size != sizeof(FUZZ_HEALTH_LINE) - 1 ||
		    memcmp(data, FUZZ_HEALTH_LINE, size) != 0 || p.ticket_len != 0)
			__builtin_trap();
		return 0;
	}
	/* A parsed ticket is NUL-terminated, bounded, and matches its length. */
	if (p.ticket_len == 0 || p.ticket_len > MAX_TICKET_BYTES ||
	    strlen(p.ticket) != p.ticket_len)
		__builtin_trap();
	return 0;
}

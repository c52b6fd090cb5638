/* fuzz_preamble.c: libFuzzer target for the relay preamble parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "preamble.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct preamble p;

	if (relay_preamble_parse((const char *)data, size, &p) == 0) {
		/* A parsed ticket is NUL-terminated, bounded, and matches its length. */
		if (p.ticket_len == 0 || p.ticket_len > MAX_TICKET_BYTES ||
		    strlen(p.ticket) != p.ticket_len)
			__builtin_trap();
	}
	return 0;
}

/* fuzz_mwindow.c: a site's maintenance window spec (src/lib/mwindow.c), as
 * an administrator types it: parse, then the canonical text must parse
 * again to the same struct and be written out to the same text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mwindow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[MWINDOW_SPEC_BYTES + 1];
	struct mwindow a, b;
	char text[MWINDOW_SPEC_BYTES], again[MWINDOW_SPEC_BYTES], why[160];

	/* The spec is C text: stop at a NUL, and go one byte past the bound so
	 * that the length check is reached too. */
	if (size > MWINDOW_SPEC_BYTES)
		size = MWINDOW_SPEC_BYTES;
	memcpy(in, data, size);
	in[size] = '\0';
	if (mwindow_parse(in, &a, why, sizeof(why)) != 0) {
		for (const char *p = why; *p != '\0'; p++)
			if (*p < 0x20 || *p > 0x7e)
				abort();    /* why is printable ASCII, whatever came in */
		return 0;
	}
	if (mwindow_format(&a, text, sizeof(text)) != 0)
		abort();    /* every accepted spec has a canonical form that fits */
	if (mwindow_parse(text, &b, why, sizeof(why)) != 0 ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (mwindow_format(&b, again, sizeof(again)) != 0 || strcmp(text, again) != 0)
		abort();
	return 0;
}

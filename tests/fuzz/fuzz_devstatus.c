/* fuzz_devstatus.c: the device status object (src/lib/devstatus.c), as an
 * OEM command prints it and a device sends it: parse, then the canonical
 * text must parse again to the same state, and the version order must not
 * trip on any pair of reported versions. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devstatus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct devstatus a, b;
	static char text[DEVSTATUS_JSON_BYTES];
	char why[160];

	if (devstatus_parse((const char *)data, size, &a, why, sizeof(why)) != 0)
		return 0;
	if (devstatus_text(&a, text, sizeof(text)) != 0)
		abort();    /* every accepted status has a canonical form */
	if (devstatus_parse(text, strlen(text), &b, why, sizeof(why)) != 0 ||
	    !devstatus_same_state(&a, &b))
		abort();
	for (size_t i = 0; i + 1 < a.nversions; i++)
		if (devstatus_vercmp(a.versions[i].version, a.versions[i + 1].version) !=
		    -devstatus_vercmp(a.versions[i + 1].version, a.versions[i].version))
			abort();
	return 0;
}

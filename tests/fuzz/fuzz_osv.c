/* fuzz_osv.c: an OSV advisory from an imported file (src/lib/osv.c): read,
 * then asked about a few versions of each package it names. */
#include <stddef.h>
#include <stdint.h>

#include "osv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const versions[] = { "0", "1.0", "2.10", "2.9", "1.0.4~rc1" };
	struct osv a;
	char why[256];
	const char *fixed;
	json_t *j = size <= OSV_MAX_BYTES ? json_loadb((const char *)data, size, 0, NULL) : NULL;

	if (j != NULL && osv_from_json(j, &a, why, sizeof(why)) == 0)
		for (size_t i = 0; i < a.naffected; i++)
			for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++)
				(void)osv_affects(&a, a.affected[i].package, versions[v], &fixed);
	json_decref(j);
	return 0;
}

/* fuzz_bundle.c: the offline update bundle's reader (src/lib/bundle.c), on
 * an archive held in memory: every entry it indexes must lie inside it,
 * with a name a bundle may have, each once. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "err.h"

struct mem {
	const uint8_t *p;
	size_t n;
};

static int mem_read(void *arg, uint64_t off, void *buf, size_t n)
{
	const struct mem *m = arg;

	if (off > m->n || n > m->n - off)
		return TE_ERR_TRUNCATED;
	memcpy(buf, m->p + off, n);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = { data, size };
	struct bundle b;
	char why[256];

	if (bundle_index(mem_read, &m, size, &b, why, sizeof(why)) == 0) {
		for (size_t i = 0; i < b.n; i++) {
			if (b.entries[i].offset > size || b.entries[i].size > size - b.entries[i].offset ||
			    bundle_find(&b, b.entries[i].name) != &b.entries[i] ||
			    (strncmp(b.entries[i].name, "metadata/", 9) != 0 &&
			     strncmp(b.entries[i].name, "targets/", 8) != 0))
				abort();
		}
		bundle_free(&b);
	}
	return 0;
}

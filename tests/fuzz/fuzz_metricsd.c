/* fuzz_metricsd.c: the request head parser of the metrics and health
 * listener (src/lib/metricsd.c), which reads bytes from any local client. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metricsd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[METRICSD_PATH_BYTES];
	enum metricsd_method m;
	size_t head_len = 0;

	/* Exactly size bytes, so ASan catches any read past the end. */
	if (metricsd_parse_head((const char *)data, size, &m, path, &head_len) == 0) {
		if (head_len > size || head_len > METRICSD_HEAD_MAX_BYTES || path[0] != '/' ||
		    strlen(path) >= METRICSD_PATH_BYTES || (m != METRICSD_GET && m != METRICSD_OTHER))
			abort();
	}
	return 0;
}

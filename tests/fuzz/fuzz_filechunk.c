/* fuzz_filechunk.c: a device's data-file upload request
 * (src/server/filechunk.c), from the bytes of its body. */
#include <stddef.h>
#include <stdint.h>

#include "filechunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[FILECHUNK_BYTES];
	struct filechunk c;
	const char *field = NULL;
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	size_t n;

	if (j != NULL && filechunk_parse(j, &c, &field) == 0 && c.data != NULL)
		(void)filechunk_decode(&c, buf, &n);
	json_decref(j);
	return 0;
}

/* fuzz_filechunk.c: a device's data-file upload request
 * (src/server/filechunk.c), from the bytes of its body. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec.h"
#include "filechunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[FILECHUNK_BYTES];
	struct filechunk c;
	const char *field = NULL;
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	size_t n;

	/* What api_part_append does with the data. */
	if (j != NULL && filechunk_parse(j, &c, &field) == 0 && c.data != NULL)
		(void)b64url_decode(c.data, strlen(c.data), buf, sizeof(buf), &n);
	json_decref(j);
	return 0;
}

/* fuzz_filechunk.c: a device's data-file upload request
 * (src/server/filechunk.c): the JSON body of POST /api/v1/device/file, and
 * the same bytes as the query of a raw chunk (PUT ...?sha256=&size=&offset=)
 * and of a release manager's publication chunk (src/server/repopub.c: PUT
 * /api/v1/repo/publications/ID?path=&size=&offset=). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "filechunk.h"
#include "repopub.h"
#include "tuf.h"

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

	/* The query as evhttp hands it over: NUL-terminated text. */
	char *q = malloc(size + 1);
	struct filechunk_raw raw;

	if (q != NULL) {
		memcpy(q, data, size);
		q[size] = '\0';
		field = NULL;
		if (filechunk_raw_parse(q, &raw, &field) == 0) {
			if (raw.offset > raw.size || strlen(raw.sha256) != 64)
				__builtin_trap();     /* what the handler relies on */
		} else if (field == NULL) {
			__builtin_trap();             /* every refusal names its key */
		}
		struct repopub_chunk pc;

		field = NULL;
		if (repopub_chunk_parse(q, &pc, &field) == 0) {
			/* what the handler relies on: a bounded offset, a path in the
			 * layout (never .. or an absolute one) */
			if (pc.offset > pc.size || pc.size > REPOPUB_BYTES_MAX ||
			    (!pc.is_target && pc.size > TUF_MAX_META_BYTES) ||
			    strstr(pc.path, "/.") != NULL || strstr(pc.path, "//") != NULL ||
			    (strncmp(pc.path, "metadata/", 9) != 0 && strncmp(pc.path, "targets/", 8) != 0))
				__builtin_trap();
		} else if (field == NULL) {
			__builtin_trap();
		}
		free(q);
	}
	return 0;
}

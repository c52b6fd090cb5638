/* fuzz_tuf.c: a TUF role's document from the network or a USB bundle
 * (src/lib/tuf.c): parsed, its common fields read for every role, its
 * canonical form made, and its signatures counted against the keys a root
 * in the same bytes would list. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cjson.h"
#include "tuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "root", "targets", "snapshot", "timestamp" };
	const json_t *s, *ids = NULL;
	json_t *md = NULL;
	int64_t v, e;
	long th = 0, valid;
	char *text = NULL;
	size_t len;

	if (tuf_parse((const char *)data, size, &md) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		(void)tuf_check_signed(md, types[i], &v, &e);
	s = json_object_get(md, "signed");
	if (cjson_encode(s, TUF_MAX_META_BYTES, &text, &len) == 0)
		free(text);
	if (tuf_role_keys(s, "root", &ids, &th) == 0)
		(void)tuf_verify(md, json_object_get(s, "keys"), ids, th, &valid);
	json_decref(md);
	return 0;
}

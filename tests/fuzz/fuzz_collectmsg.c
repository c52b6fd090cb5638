/* fuzz_collectmsg.c: the frames a collection's reader writes to the agent's
 * network part (src/agent/collectmsg.c), parsed one after the other as the
 * network part does; an accepted frame must encode back to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t again[COLLECTMSG_HEAD + COLLECTMSG_DATA_MAX + COLLECTMSG_PATH_MAX];
	struct collectmsg m;
	size_t used;
	int n;

	while (size > 0 && collectmsg_parse(data, size, &m, &used) == 0) {
		n = collectmsg_encode(m.type, m.mtime, m.path[0] ? m.path : NULL,
		                      m.why[0] ? m.why : NULL, m.data, m.len, again, sizeof(again));
		if (n < 0 || (size_t)n != used || memcmp(again, data, used) != 0)
			abort();
		data += used;
		size -= used;
	}
	return 0;
}

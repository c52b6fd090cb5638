/* fuzz_spawnmsg.c: the agent monitor's SPAWN request and status parsers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spawnmsg.h"

static struct spawn_req req, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[SPAWN_MSG_MAX_BYTES];
	struct spawn_status st;
	int n;

	(void)spawnmsg_decode_status(data, size, &st);
	if (spawnmsg_decode_req(data, size, &req) != 0)
		return 0;
	/* What decodes re-encodes to the same bytes. */
	n = spawnmsg_encode_req(&req, buf, sizeof(buf));
	if (n < 0 || (size_t)n != size || memcmp(buf, data, size) != 0 ||
	    spawnmsg_decode_req(buf, (size_t)n, &again) != 0)
		__builtin_trap();
	return 0;
}

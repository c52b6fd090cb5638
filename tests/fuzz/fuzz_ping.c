/* fuzz_ping.c: the device ping body parser (src/server/srvping.c). */
#include <stddef.h>
#include <stdint.h>

#include "srvping.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ping_req p;
	char svcs[STORE_SERVICES_BYTES];

	if (ping_parse_request((const char *)data, size, &p) == 0)
		(void)ping_services_json(&p, svcs, sizeof(svcs));
	return 0;
}

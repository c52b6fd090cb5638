/* fuzz_ping.c: the device ping body parser and the audit-head check
 * (src/server/srvping.c). */
#include <stddef.h>
#include <stdint.h>

#include "srvping.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct store_audit_head anchor = { 7, AUDIT_GENESIS_HASH };
	struct ping_req p;
	char svcs[STORE_SERVICES_BYTES], names[STORE_OFFERS_BYTES];

	if (ping_parse_request((const char *)data, size, &p) == 0) {
		(void)ping_services_json(&p, svcs, sizeof(svcs));
		(void)ping_names_json(&p.diags, names, sizeof(names));
		(void)ping_names_json(&p.files, names, sizeof(names));
		if (p.has_audit_head)
			(void)ping_audit_check(&anchor, &anchor, &p.audit_head);
	}
	return 0;
}

/* fuzz_sessrec.c: the parser of the agent's session record files
 * (state_dir/live-sessions and session-ends, src/agent/sessrec.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "consent.h"
#include "sessrec.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sessrec r[SESSREC_MAX];
	size_t n, bad, i;

	if (sessrec_parse((const char *)data, size, r, SESSREC_MAX, &n, &bad) != 0)
		return 0;
	if (n > SESSREC_MAX)
		__builtin_trap();
	for (i = 0; i < n; i++)
		if (!consent_id_ok(r[i].id) || strlen(r[i].reason) >= MAX_REASON_BYTES ||
		    (r[i].reason[0] != '\0' &&
		     text_check_display(r[i].reason, MAX_REASON_BYTES, NULL) != 0))
			__builtin_trap();   /* what comes out is always well formed */
	return 0;
}

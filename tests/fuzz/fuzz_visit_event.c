/* fuzz_visit_event.c: the agent's session_connect ping event parser
 * (src/agent/visit.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "consent.h"
#include "ticket.h"
#include "visit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct visit_event v;
	json_t *o = json_loadb((const char *)data, size, 0, NULL);

	if (o != NULL && visit_event_parse(o, &v) == 0 &&
	    (!consent_id_ok(v.session) || v.conn < 1 || v.conn > TICKET_MAX_CONN ||
	     v.ticket[0] == '\0' || strlen(v.ticket) > MAX_TICKET_BYTES))
		__builtin_trap();   /* what parsed must be within its bounds */
	json_decref(o);
	return 0;
}

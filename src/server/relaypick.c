/* relaypick.c: round-robin relay choice from the health checker's state. */
#include "relaypick.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

/* The first relay from *cursor on whose state is want; -1 when none. */
static long relaypick_first(const struct store_relay *relays, size_t n, unsigned cursor,
                            const struct relayhealth *health, enum relayhealth_state want,
                            const char *except)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = (cursor + i) % n;

		if (except != NULL && strcmp(relays[k].name, except) == 0)
			continue;
		if (relayhealth_get(health, relays[k].name, relays[k].host, relays[k].device_port,
		                    NULL) == want)
			return (long)k;
	}
	return -1;
}

static void relaypick_log_skipped(const struct store_relay *relays, size_t n,
                                  const struct relayhealth *health)
{
	const char *why = "";

	for (size_t i = 0; i < n; i++) {
		if (relayhealth_get(health, relays[i].name, relays[i].host, relays[i].device_port,
		                    &why) != RELAYHEALTH_UP)
			log_info("relay %s (%s:%d) skipped: %s", relays[i].name, relays[i].host,
			         relays[i].device_port, why[0] ? why : "not up");
	}
}

int relaypick_choose(struct store *st, const struct relayhealth *health, unsigned *cursor,
                     const char *except, struct store_relay *out)
{
	struct store_relay *relays;
	size_t n = 0;
	long k;
	int rc;

	if ((relays = calloc(RELAYPICK_MAX_RELAYS, sizeof(*relays))) == NULL)
		return TE_ERR_NOMEM;
	if ((rc = store_relay_list(st, relays, RELAYPICK_MAX_RELAYS, &n)) != 0)
		goto out;
	if (n == 0 || (n == 1 && except != NULL && strcmp(relays[0].name, except) == 0)) {
		rc = TE_ERR_NOT_FOUND;
		goto out;
	}
	/* Just after start no check may have finished; a relay not known to be
	 * down is then better than refusing the session. */
	if ((k = relaypick_first(relays, n, *cursor, health, RELAYHEALTH_UP, except)) < 0)
		k = relaypick_first(relays, n, *cursor, health, RELAYHEALTH_UNKNOWN, except);
	relaypick_log_skipped(relays, n, health);
	if (k < 0) {
		rc = TE_ERR_IO;
		goto out;
	}
	*out = relays[k];
	*cursor = (unsigned)((size_t)(k + 1) % n);
	rc = 0;
out:
	free(relays);
	return rc;
}

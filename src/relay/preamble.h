/* preamble.h: the relay leg's first line, "TETHER/1 <leg> <ticket>\n", or
 * the health question "TETHER/1 health\n" that the relay's event loop
 * answers "OK health <relay name>\n" (the server's application-level check:
 * a stopped relay's kernel still completes TCP connects, its loop does not
 * answer). A pure parser with no I/O so that it can be fuzzed on its own. */
#ifndef TETHER_RELAY_PREAMBLE_H
#define TETHER_RELAY_PREAMBLE_H

#include <stddef.h>

#include "bounds.h"
#include "ticket.h"

#define PREAMBLE_MAGIC "TETHER/1"
#define PREAMBLE_HEALTH_WORD "health"

struct preamble {
	int health;                         /* "TETHER/1 health\n": no leg, no ticket */
	enum ticket_leg leg;                /* the leg word the peer sent */
	char ticket[MAX_TICKET_BYTES + 1];  /* NUL-terminated ticket text */
	size_t ticket_len;
	const char *why;                    /* on failure: what was wrong (static) */
};

/* Parse one line of len bytes that must end with its '\n' (no NUL needed).
 * Strict: single spaces, no '\r', leg "device" or "client", a non-empty
 * ticket of base64url characters and '.', at most MAX_TICKET_BYTES; or
 * exactly "TETHER/1 health\n" (out->health set, no ticket).
 * Returns 0, TE_ERR_TOO_LONG (line or ticket over its bound),
 * TE_ERR_TRUNCATED (no final '\n') or TE_ERR_INVALID; on any failure
 * out->why says what was wrong and the other fields are unspecified. */
int relay_preamble_parse(const char *line, size_t len, struct preamble *out);

#endif

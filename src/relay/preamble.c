/* preamble.c: strict parser for the relay leg preamble and the health
 * question (see preamble.h and docs/protocol.md "Relay legs"). Everything
 * here is untrusted input, so it is read through the bounded reader and
 * every field has a limit. */
#include "preamble.h"

#include <string.h>

#include "err.h"
#include "rbuf.h"

/* Longest leg word we accept ("device" / "client") plus NUL, with room to
 * spare so that a long word is reported as a bad leg rather than as too long. */
#define PREAMBLE_WORD_BYTES 16

static int preamble_ticket_char_ok(unsigned char c)
{
	/* base64url alphabet plus the '.' that separates payload and signature */
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static int preamble_fail(struct preamble *out, int err, const char *why)
{
	out->why = why;
	return err;
}

static int preamble_leg_parse(const char *word, enum ticket_leg *leg)
{
	if (strcmp(word, "device") == 0)
		*leg = TICKET_LEG_DEVICE;
	else if (strcmp(word, "client") == 0)
		*leg = TICKET_LEG_CLIENT;
	else
		return TE_ERR_INVALID;
	return 0;
}

int relay_preamble_parse(const char *line, size_t len, struct preamble *out)
{
	char word[PREAMBLE_WORD_BYTES];
	struct rbuf r;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (line == NULL)
		return preamble_fail(out, TE_ERR_INVALID, "no preamble");
	if (len > MAX_PREAMBLE_BYTES)
		return preamble_fail(out, TE_ERR_TOO_LONG, "preamble longer than the limit");
	if (len == 0 || line[len - 1] != '\n')
		return preamble_fail(out, TE_ERR_TRUNCATED, "preamble does not end with a newline");
	/* Leave the newline out so that every field below is space-delimited. */
	if (rbuf_init(&r, line, len - 1, MAX_PREAMBLE_BYTES) != 0)
		return preamble_fail(out, TE_ERR_TOO_LONG, "preamble longer than the limit");

	rc = rbuf_get_token(&r, ' ', word, sizeof(word));
	if (rc != 0 || strcmp(word, PREAMBLE_MAGIC) != 0)
		return preamble_fail(out, TE_ERR_INVALID, "preamble must start with \"" PREAMBLE_MAGIC " \"");

	/* The health question is the whole line; nothing may follow the word. */
	if (rbuf_remaining(&r) == sizeof(PREAMBLE_HEALTH_WORD) - 1 &&
	    memcmp(line + len - sizeof(PREAMBLE_HEALTH_WORD), PREAMBLE_HEALTH_WORD,
	           sizeof(PREAMBLE_HEALTH_WORD) - 1) == 0) {
		out->health = 1;
		out->why = NULL;
		return 0;
	}

	rc = rbuf_get_token(&r, ' ', word, sizeof(word));
	if (rc != 0 || preamble_leg_parse(word, &out->leg) != 0)
		return preamble_fail(out, TE_ERR_INVALID, "leg must be \"device\" or \"client\" followed by one space");

	if (rbuf_remaining(&r) == 0)
		return preamble_fail(out, TE_ERR_INVALID, "ticket is missing");
	if (rbuf_remaining(&r) > MAX_TICKET_BYTES)
		return preamble_fail(out, TE_ERR_TOO_LONG, "ticket longer than the limit");
	rc = rbuf_get_rest(&r, out->ticket, sizeof(out->ticket));
	if (rc != 0)
		return preamble_fail(out, TE_ERR_INVALID, "ticket contains a NUL byte");
	out->ticket_len = strlen(out->ticket);
	/* Rejects extra spaces, '\r', and anything else a ticket never holds. */
	for (i = 0; i < out->ticket_len; i++) {
		if (!preamble_ticket_char_ok((unsigned char)out->ticket[i]))
			return preamble_fail(out, TE_ERR_INVALID, "ticket holds a character outside base64url and '.'");
	}
	out->why = NULL;
	return 0;
}

/* nonce.c: a small chained hash set of used ticket nonces with expiry. */
#include "nonce.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define NONCE_BUCKETS   1024
#define NONCE_MAX_CHARS 64     /* tickets carry 32 hex digits; leave room */

struct nonce_entry {
	struct nonce_entry *next;
	int64_t expires_at;
	char nonce[NONCE_MAX_CHARS + 1];
};

struct relay_nonces {
	struct nonce_entry *buckets[NONCE_BUCKETS];
	size_t count;
	size_t max;
	int64_t last_prune;
};

/* FNV-1a: nonces are random, so an unkeyed hash spreads them well enough. */
static size_t nonce_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h % NONCE_BUCKETS;
}

int relay_nonces_new(size_t max_entries, struct relay_nonces **out)
{
	struct relay_nonces *n;

	*out = NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return TE_ERR_NOMEM;
	n->max = max_entries > 0 ? max_entries : RELAY_MAX_NONCES;
	*out = n;
	return 0;
}

void relay_nonces_free(struct relay_nonces *n)
{
	struct nonce_entry *e, *next;
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < NONCE_BUCKETS; i++) {
		for (e = n->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(n);
}

void relay_nonces_prune(struct relay_nonces *n, int64_t now)
{
	struct nonce_entry **pp, *e;
	size_t i;

	for (i = 0; i < NONCE_BUCKETS; i++) {
		pp = &n->buckets[i];
		while ((e = *pp) != NULL) {
			if (e->expires_at < now) {
				*pp = e->next;
				free(e);
				n->count--;
			} else {
				pp = &e->next;
			}
		}
	}
	n->last_prune = now;
}

size_t relay_nonces_count(const struct relay_nonces *n)
{
	return n->count;
}

int relay_nonces_use(struct relay_nonces *n, const char *nonce,
                     int64_t expires_at, int64_t now)
{
	struct nonce_entry *e;
	size_t len, b;

	len = strnlen(nonce, NONCE_MAX_CHARS + 1);
	if (len == 0 || len > NONCE_MAX_CHARS)
		return TE_ERR_INVALID;
	/* Pruning walks every bucket, so do it at most once a second. */
	if (now != n->last_prune || n->count >= n->max)
		relay_nonces_prune(n, now);
	b = nonce_hash(nonce);
	for (e = n->buckets[b]; e != NULL; e = e->next) {
		if (strcmp(e->nonce, nonce) == 0)
			return TE_ERR_REPLAY;
	}
	if (n->count >= n->max)
		return TE_ERR_TOO_LONG;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return TE_ERR_NOMEM;
	memcpy(e->nonce, nonce, len);
	e->expires_at = expires_at;
	e->next = n->buckets[b];
	n->buckets[b] = e;
	n->count++;
	return 0;
}

/* apiq.c: a FIFO of requests (JSON POSTs, raw PUTs) over one httpc. */
#include "apiq.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bounds.h"
#include "err.h"
#include "log.h"

#define APIQ_MAX_PENDING 64

struct apiq_item {
	struct apiq_item *next;
	const char *method;
	const char *ctype;
	char *path;
	char *body;                 /* owned (JSON), or NULL for a borrowed one */
	const void *ref;            /* what is sent: body, or the caller's bytes */
	size_t bodylen;
	httpc_cb cb;
	void *arg;
};

struct apiq {
	struct httpc *http;
	struct event *kick;           /* starts the next request outside callbacks */
	struct apiq_item *head, *tail;
	struct apiq_item *inflight;
	size_t count;
	int closing;
};

static void apiq_item_free(struct apiq_item *it)
{
	if (it == NULL)
		return;
	free(it->path);
	if (it->body != NULL)
		OPENSSL_cleanse(it->body, it->bodylen);
	free(it->body);
	free(it);
}

static void apiq_done(int status, const char *body, size_t len,
                      const char *err, void *arg)
{
	struct apiq *q = arg;
	struct apiq_item *it = q->inflight;

	q->inflight = NULL;
	if (it == NULL)
		return;
	if (it->cb != NULL)
		it->cb(status, body, len, err, it->arg);
	else if (status < 200 || status >= 300)
		log_warn("%s %s: %s", it->method, it->path,
		         status == 0 ? (err != NULL ? err : "no response") : body);
	apiq_item_free(it);
	if (q->head != NULL && !q->closing)
		event_active(q->kick, 0, 0);
}

static void apiq_start_next(evutil_socket_t fd, short what, void *arg)
{
	struct apiq *q = arg;
	struct apiq_item *it;
	int rc;

	while (q->inflight == NULL && (it = q->head) != NULL) {
		q->head = it->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->count--;
		q->inflight = it;
		rc = httpc_request_raw(q->http, it->method, it->path, NULL, it->ctype, it->ref,
		                       it->bodylen, apiq_done, q);
		if (rc == 0)
			return;
		q->inflight = NULL;
		if (it->cb != NULL)
			it->cb(0, "", 0, te_strerror(rc), it->arg);
		apiq_item_free(it);
	}
}

int apiq_new(struct event_base *base, const char *base_url, const char *proxy,
             SSL_CTX *ctx, struct apiq **out)
{
	struct apiq *q;
	int rc;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return TE_ERR_NOMEM;
	if ((rc = httpc_new(base, base_url, ctx, &q->http)) != 0 ||
	    (rc = httpc_set_proxy(q->http, proxy)) != 0)
		goto fail;
	/* Every body lives in its item (or with its caller, apiq_put_bytes)
	 * until the item's callback has run. */
	httpc_borrow_bodies(q->http, 1);
	if ((q->kick = event_new(base, -1, 0, apiq_start_next, q)) == NULL) {
		rc = TE_ERR_NOMEM;
		goto fail;
	}
	*out = q;
	return 0;
fail:
	apiq_free(q);
	return rc;
}

void apiq_free(struct apiq *q)
{
	struct apiq_item *it;

	if (q == NULL)
		return;
	q->closing = 1;
	if (q->inflight != NULL) {
		httpc_cancel(q->http);
		it = q->inflight;
		q->inflight = NULL;
		if (it->cb != NULL)
			it->cb(0, "", 0, "agent shutting down", it->arg);
		apiq_item_free(it);
	}
	while ((it = q->head) != NULL) {
		q->head = it->next;
		if (it->cb != NULL)
			it->cb(0, "", 0, "agent shutting down", it->arg);
		apiq_item_free(it);
	}
	if (q->kick != NULL)
		event_free(q->kick);
	httpc_free(q->http);
	free(q);
}

void apiq_set_keepalive(struct apiq *q, int on)
{
	httpc_set_keepalive(q->http, on);
}

int apiq_keeps_connection(const struct apiq *q)
{
	return httpc_keeps_connection(q->http);
}

static int apiq_add(struct apiq *q, const char *method, const char *path, const char *ctype,
                    const void *body, size_t bodylen, int borrow, httpc_cb cb, void *arg)
{
	struct apiq_item *it;

	if (q->closing)
		return TE_ERR_INVALID;
	if (q->count >= APIQ_MAX_PENDING)
		return TE_ERR_TOO_LONG;
	if ((it = calloc(1, sizeof(*it))) == NULL)
		return TE_ERR_NOMEM;
	it->method = method;
	it->ctype = ctype;
	it->path = strdup(path);
	if (!borrow)
		it->body = malloc(bodylen + 1);
	if (it->path == NULL || (!borrow && it->body == NULL)) {
		apiq_item_free(it);
		return TE_ERR_NOMEM;
	}
	if (borrow) {
		it->ref = body;
	} else {
		memcpy(it->body, body, bodylen);
		it->body[bodylen] = '\0';
		it->ref = it->body;
	}
	it->bodylen = bodylen;
	it->cb = cb;
	it->arg = arg;
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->count++;
	if (q->inflight == NULL)
		event_active(q->kick, 0, 0);
	return 0;
}

int apiq_post(struct apiq *q, const char *path, const char *json_body,
              httpc_cb cb, void *arg)
{
	if (json_body == NULL)
		json_body = "{}";
	if (strlen(json_body) > MAX_HTTP_BODY_BYTES)
		return TE_ERR_TOO_LONG;
	return apiq_add(q, "POST", path, "application/json", json_body, strlen(json_body), 0,
	                cb, arg);
}

int apiq_put_bytes(struct apiq *q, const char *path, const void *body, size_t len,
                   httpc_cb cb, void *arg)
{
	if (len > MAX_HTTP_UPLOAD_BYTES)
		return TE_ERR_TOO_LONG;
	return apiq_add(q, "PUT", path, "application/octet-stream", body, len, 1, cb, arg);
}

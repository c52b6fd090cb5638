/* download.c: one target fetched resumably over HTTPS (download.h). */
#include "download.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/http.h>
#include <openssl/evp.h>

#include "bounds.h"
#include "codec.h"
#include "err.h"
#include "httpresp.h"
#include "tls.h"

#define DOWNLOAD_PROGRESS_BYTES (4 * 1024 * 1024)

static double download_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until sent bytes since t0 keep to rate (at most a second at a time
 * of being ahead, so a stall is never made up for with a burst). */
static void download_pace(long rate, double t0, int64_t sent)
{
	double ahead;
	struct timespec ts;

	if (rate <= 0)
		return;
	ahead = (double)sent / (double)rate - (download_now() - t0);
	if (ahead <= 0)
		return;
	ts.tv_sec = (time_t)ahead;
	ts.tv_nsec = (long)((ahead - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The response head into buf; *have the bytes read (the body's first ones
 * after hd->head_len). */
static int download_head(SSL *ssl, char *buf, size_t cap, size_t *have,
                         struct httpresp_head *hd, char *why, size_t whysz)
{
	int rc, n;

	*have = 0;
	for (;;) {
		if ((n = tls_read_some(ssl, buf + *have, cap - *have, DOWNLOAD_STALL_S)) <= 0) {
			snprintf(why, whysz, "the server's answer broke off (%s)",
			         n == 0 ? "connection closed" : te_strerror(n));
			return n == 0 ? TE_ERR_TRUNCATED : n;
		}
		*have += (size_t)n;
		rc = httpresp_parse_head_max(buf, *have, DOWNLOAD_MAX_BYTES, hd);
		if (rc == 0)
			return 0;
		if (rc != TE_ERR_TRUNCATED || *have == cap) {
			snprintf(why, whysz, "the server's answer is not HTTP this agent takes (%s)",
			         te_strerror(rc));
			return rc == TE_ERR_TRUNCATED ? TE_ERR_TOO_LONG : rc;
		}
	}
}

/* Where the body starts in the file: 0 for a whole file, held for a range
 * that goes on from it; an error for anything else. */
static int download_start(const struct download *d, const struct httpresp_head *hd,
                          int64_t held, int64_t *at, char *why, size_t whysz)
{
	if (hd->chunked || hd->transfer_encoded) {
		snprintf(why, whysz, "the server sent the file with a transfer coding");
		return TE_ERR_PROTOCOL;
	}
	if (hd->status == 200) {
		if (hd->content_length > d->length) {
			snprintf(why, whysz, "the server offers %lld bytes where the signed metadata "
			         "says %lld", hd->content_length, (long long)d->length);
			return TE_ERR_TOO_LONG;
		}
		*at = 0;
		return 0;
	}
	if (hd->status == 206) {
		if (hd->range_total > d->length) {
			snprintf(why, whysz, "the server offers %lld bytes where the signed metadata "
			         "says %lld", hd->range_total, (long long)d->length);
			return TE_ERR_TOO_LONG;
		}
		if (hd->range_first != held || hd->range_total != d->length ||
		    (hd->content_length >= 0 &&
		     hd->content_length != hd->range_last - hd->range_first + 1)) {
			snprintf(why, whysz, "the server sent bytes %lld-%lld/%lld, not the rest from "
			         "%lld", hd->range_first, hd->range_last, hd->range_total,
			         (long long)held);
			return TE_ERR_PROTOCOL;
		}
		*at = held;
		return 0;
	}
	if (hd->status == 416) {
		snprintf(why, whysz, "the server holds a shorter file than the %lld bytes kept",
		         (long long)held);
		return TE_ERR_MISMATCH;
	}
	snprintf(why, whysz, "the server answered %d", hd->status);
	return hd->status == 404 ? TE_ERR_NOT_FOUND : TE_ERR_PROTOCOL;
}

static int download_write(int fd, const char *p, size_t n, int64_t at, char *why, size_t whysz)
{
	ssize_t w;

	while (n > 0) {
		if ((w = pwrite(fd, p, n, (off_t)at)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(why, whysz, "cannot write the download: %s", strerror(errno));
			return TE_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
		at += w;
	}
	return 0;
}

/* Hash the first n bytes of fd into ctx (a fresh start). */
static int download_hash_held(int fd, int64_t n, EVP_MD_CTX *ctx)
{
	char buf[DOWNLOAD_CHUNK_BYTES];
	int64_t at = 0;
	ssize_t r;

	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return TE_ERR_CRYPTO;
	while (at < n) {
		r = pread(fd, buf, (size_t)(n - at < (int64_t)sizeof(buf) ? n - at : (int64_t)sizeof(buf)),
		          (off_t)at);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return TE_ERR_IO;
		if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1)
			return TE_ERR_CRYPTO;
		at += r;
	}
	return 0;
}

static int download_hex(EVP_MD_CTX *ctx, char sha[65])
{
	unsigned char md[32];
	unsigned len = 0;

	if (EVP_DigestFinal_ex(ctx, md, &len) != 1 || len != sizeof(md))
		return TE_ERR_CRYPTO;
	return hex_encode(md, sizeof(md), sha, 65);
}

int download_run(const struct download *d, char sha[65], char *why, size_t whysz)
{
	char buf[DOWNLOAD_CHUNK_BYTES], req[MAX_HTTP_HEADERS_BYTES], port[8], err[256];
	struct evhttp_uri *uri = NULL;
	struct httpresp_head hd;
	struct stat st;
	SSL *ssl = NULL;
	int64_t held, at = 0, body = 0, want, told = 0;
	size_t have = 0, off;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	double t0;
	int rc, n, w;

	why[0] = '\0';
	sha[0] = '\0';
	if (md == NULL)
		return TE_ERR_NOMEM;
	if (fstat(d->fd, &st) != 0) {
		snprintf(why, whysz, "cannot read the download's size: %s", strerror(errno));
		return TE_ERR_IO;
	}
	held = (int64_t)st.st_size;
	if (held > d->length) {
		if (ftruncate(d->fd, 0) != 0) {
			snprintf(why, whysz, "cannot empty the download: %s", strerror(errno));
			return TE_ERR_IO;
		}
		held = 0;
	}
	if ((rc = download_hash_held(d->fd, held, md)) != 0) {
		snprintf(why, whysz, "cannot read the download kept before");
		goto out;
	}
	if (held == d->length) {
		rc = fdatasync(d->fd) == 0 ? download_hex(md, sha) : TE_ERR_IO;
		goto out;
	}
	if ((uri = evhttp_uri_parse(d->server)) == NULL || evhttp_uri_get_host(uri) == NULL) {
		snprintf(why, whysz, "the server URL %s is not https://host:port", d->server);
		rc = TE_ERR_INVALID;
		goto out;
	}
	snprintf(port, sizeof(port), "%d", evhttp_uri_get_port(uri) > 0 ?
	         evhttp_uri_get_port(uri) : 443);
	if ((rc = tls_connect(d->ctx, evhttp_uri_get_host(uri), port, d->proxy, DOWNLOAD_STALL_S,
	                      &ssl, err, sizeof(err))) != 0) {
		snprintf(why, whysz, "cannot reach the server: %s", err);
		goto out;
	}
	w = held > 0 ?
	    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%s\r\nAccept: */*\r\n"
	             "Range: bytes=%lld-\r\nConnection: close\r\n\r\n", d->path,
	             evhttp_uri_get_host(uri), port, (long long)held) :
	    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%s\r\nAccept: */*\r\n"
	             "Connection: close\r\n\r\n", d->path, evhttp_uri_get_host(uri), port);
	if (w < 0 || (size_t)w >= sizeof(req)) {
		snprintf(why, whysz, "the request is too long");
		rc = TE_ERR_TOO_LONG;
		goto out;
	}
	if ((rc = tls_write_all(ssl, req, (size_t)w)) != 0) {
		snprintf(why, whysz, "cannot send the request: %s", te_strerror(rc));
		goto out;
	}
	if ((rc = download_head(ssl, buf, sizeof(buf), &have, &hd, why, whysz)) != 0 ||
	    (rc = download_start(d, &hd, held, &at, why, whysz)) != 0)
		goto out;
	if (at == 0 && held > 0 &&
	    (ftruncate(d->fd, 0) != 0 || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)) {
		snprintf(why, whysz, "cannot empty the download: %s", strerror(errno));
		rc = TE_ERR_IO;
		goto out;
	}
	want = hd.content_length >= 0 ? hd.content_length : d->length - at;
	off = hd.head_len;
	t0 = download_now();
	for (;;) {
		size_t n_in = have - off;

		if (n_in > 0) {
			if (at + (int64_t)n_in > d->length || body + (int64_t)n_in > want) {
				snprintf(why, whysz, "the server sent more than the %lld bytes the signed "
				         "metadata declares", (long long)d->length);
				rc = TE_ERR_TOO_LONG;
				goto out;
			}
			if ((rc = download_write(d->fd, buf + off, n_in, at, why, whysz)) != 0)
				goto out;
			if (EVP_DigestUpdate(md, buf + off, n_in) != 1) {
				rc = TE_ERR_CRYPTO;
				goto out;
			}
			at += (int64_t)n_in;
			body += (int64_t)n_in;
			if (d->progress != NULL && at - told >= DOWNLOAD_PROGRESS_BYTES) {
				d->progress(d->arg, at);
				told = at;
			}
			download_pace(d->rate, t0, body);
		}
		if (body == want && hd.content_length >= 0)
			break;
		n = tls_read_some(ssl, buf, sizeof(buf), DOWNLOAD_STALL_S);
		if (n == 0 || (n < 0 && body == want && hd.content_length < 0))
			break;
		if (n < 0) {
			snprintf(why, whysz, "the download broke off at %lld of %lld bytes (%s)",
			         (long long)at, (long long)d->length, te_strerror(n));
			rc = n;
			goto out;
		}
		have = (size_t)n;
		off = 0;
	}
	if (at != d->length) {
		snprintf(why, whysz, "the download ended at %lld of %lld bytes", (long long)at,
		         (long long)d->length);
		rc = TE_ERR_TRUNCATED;
		goto out;
	}
	if (fdatasync(d->fd) != 0) {
		snprintf(why, whysz, "cannot keep the download: %s", strerror(errno));
		rc = TE_ERR_IO;
		goto out;
	}
	rc = download_hex(md, sha);
out:
	EVP_MD_CTX_free(md);
	if (rc == TE_ERR_TOO_LONG)
		(void)!ftruncate(d->fd, 0);
	if (rc != 0 && rc != TE_ERR_TOO_LONG)
		(void)fdatasync(d->fd);           /* what came is kept for the next try */
	if (d->progress != NULL && at > told)
		d->progress(d->arg, at);
	tls_close(ssl);
	if (uri != NULL)
		evhttp_uri_free(uri);
	return rc;
}

/* httpresp.h: a strict, bounded parser for HTTP/1.x response heads, used
 * where tether speaks HTTP itself instead of through evhttp: a proxy's
 * answer to CONNECT and the server's response inside a proxy tunnel.
 *
 * The parser is pure (no I/O, no allocation) and fuzzed
 * (tests/fuzz/fuzz_http_response.c). */
#ifndef TETHER_HTTPRESP_H
#define TETHER_HTTPRESP_H

#include <stddef.h>

/* Header lines accepted in one head. */
#define HTTPRESP_MAX_HEADERS 64

struct httpresp_head {
	int status;                 /* 100..599 */
	int minor;                  /* HTTP/1.<minor>, 0 or 1 */
	long long content_length;   /* -1 when absent */
	int transfer_encoded;       /* a Transfer-Encoding header was present */
	int chunked;                /* ... and its last coding is "chunked" */
	size_t head_len;            /* bytes up to and including the blank line */
	/* Content-Range: bytes FIRST-LAST/TOTAL (first and last -1 for
	 * "bytes * /TOTAL"); all -1 when absent */
	long long range_first, range_last, range_total;
};

/* Parse the response head at the start of buf[0..len). Lines end in CRLF
 * (a bare LF is accepted too). Returns
 *   0                  complete; *out filled, body starts at buf + head_len
 *   TE_ERR_TRUNCATED   no blank line yet and len < MAX_HTTP_HEADERS_BYTES:
 *                      call again with more bytes
 *   TE_ERR_TOO_LONG    no blank line within MAX_HTTP_HEADERS_BYTES, more
 *                      than HTTPRESP_MAX_HEADERS lines, or a Content-Length
 *                      over MAX_HTTP_BODY_BYTES
 *   TE_ERR_PROTOCOL    anything malformed: status line, header syntax,
 *                      control bytes, folded lines, conflicting or invalid
 *                      Content-Length, Content-Length with Transfer-Encoding
 * Only the first MAX_HTTP_HEADERS_BYTES of buf are ever read. */
int httpresp_parse_head(const void *buf, size_t len, struct httpresp_head *out);
/* The same with another limit for Content-Length and Content-Range (a
 * download's file, not an API body). */
int httpresp_parse_head_max(const void *buf, size_t len, long long max_body,
                            struct httpresp_head *out);
/* A request's Range header value (RFC 9110 14.2), one range only:
 * "bytes=A-", "bytes=A-B" or "bytes=-N", against a file of size bytes,
 * into the bytes to send, first..last (B past the end is cut to it).
 * TE_ERR_TOO_LONG when it starts past the end (416), TE_ERR_PROTOCOL for
 * anything else (a list, another unit, junk: answer the whole file). */
int httpresp_range_request(const char *value, long long size, long long *first,
                           long long *last);

/* Whether a response with this status carries no body (1xx, 204, 304). */
int httpresp_no_body(int status);

#endif

/* httpresp.c: strict, bounded HTTP/1.x response head parser.
 *
 * The head is located first (bounded by MAX_HTTP_HEADERS_BYTES) and then
 * parsed line by line; nothing is interpreted until the whole head is in,
 * so a slow peer cannot make us act on half a header. Ambiguities that
 * real servers never produce (folded lines, Content-Length together with
 * Transfer-Encoding, differing duplicate lengths) are refused rather than
 * resolved, since the bytes come from the network. */
#include "httpresp.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "err.h"

/* RFC 9110 tchar */
static int httpresp_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field values and reason phrases: VCHAR, SP, HTAB, obs-text. */
static int httpresp_text_ok(const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Offset just past the blank line ending the head, or 0 when not found. */
static size_t httpresp_find_end(const unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i] != '\n')
			continue;
		if (i + 1 < n && b[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && b[i + 1] == '\r' && b[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static int httpresp_status_line(const unsigned char *s, size_t n,
                                struct httpresp_head *out)
{
	if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
	    s[8] != ' ')
		return TE_ERR_PROTOCOL;
	if (s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' ||
	    s[11] < '0' || s[11] > '9')
		return TE_ERR_PROTOCOL;
	if (n > 12 && (s[12] != ' ' || !httpresp_text_ok(s + 13, n - 13)))
		return TE_ERR_PROTOCOL;
	out->minor = s[7] - '0';
	out->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return 0;
}

/* Digits only, at most max; -1 for anything else (empty, a sign, past max). */
static long long httpresp_number(const unsigned char *v, size_t n, long long max)
{
	long long val = 0;

	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		val = val * 10 + (v[i] - '0');
		if (val > max)
			return -1;
	}
	return val;
}

/* "bytes FIRST-LAST/TOTAL" (RFC 9110 14.4), FIRST <= LAST < TOTAL; or
 * "bytes *\/TOTAL" for a 416, which leaves first and last -1. */
static int httpresp_content_range(const unsigned char *v, size_t n, long long max,
                                  struct httpresp_head *out)
{
	const unsigned char *dash, *slash;
	long long first = -1, last = -1, total;

	if (out->range_total >= 0 || n < 8 || memcmp(v, "bytes ", 6) != 0)
		return TE_ERR_PROTOCOL;
	v += 6;
	n -= 6;
	if ((slash = memchr(v, '/', n)) == NULL ||
	    (total = httpresp_number(slash + 1, n - (size_t)(slash + 1 - v), max)) < 0)
		return TE_ERR_PROTOCOL;
	if (!(slash - v == 1 && v[0] == '*')) {
		if ((dash = memchr(v, '-', (size_t)(slash - v))) == NULL ||
		    (first = httpresp_number(v, (size_t)(dash - v), max)) < 0 ||
		    (last = httpresp_number(dash + 1, (size_t)(slash - dash - 1), max)) < 0 ||
		    first > last || last >= total)
			return TE_ERR_PROTOCOL;
	}
	out->range_first = first;
	out->range_last = last;
	out->range_total = total;
	return 0;
}

static int httpresp_content_length(const unsigned char *v, size_t n, long long max,
                                   struct httpresp_head *out)
{
	long long val = 0;
	size_t i;

	if (n == 0)
		return TE_ERR_PROTOCOL;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return TE_ERR_PROTOCOL;
		val = val * 10 + (v[i] - '0');
		if (val > max)
			return TE_ERR_TOO_LONG;
	}
	if (out->content_length >= 0 && out->content_length != val)
		return TE_ERR_PROTOCOL;
	out->content_length = val;
	return 0;
}

/* The last comma-separated coding of a Transfer-Encoding value. */
static void httpresp_transfer_encoding(const unsigned char *v, size_t n,
                                       struct httpresp_head *out)
{
	size_t start = n;

	while (start > 0 && v[start - 1] != ',')
		start--;
	while (start < n && (v[start] == ' ' || v[start] == '\t'))
		start++;
	out->transfer_encoded = 1;
	out->chunked = n - start == 7 &&
	               strncasecmp((const char *)v + start, "chunked", 7) == 0;
}

static int httpresp_header_line(const unsigned char *s, size_t n, long long max,
                                struct httpresp_head *out)
{
	size_t name = 0, vs, ve;

	while (name < n && httpresp_tchar(s[name]))
		name++;
	/* no name, a folded line, or whitespace before the colon */
	if (name == 0 || name >= n || s[name] != ':')
		return TE_ERR_PROTOCOL;
	vs = name + 1;
	ve = n;
	while (vs < ve && (s[vs] == ' ' || s[vs] == '\t'))
		vs++;
	while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
		ve--;
	if (!httpresp_text_ok(s + vs, ve - vs))
		return TE_ERR_PROTOCOL;
	if (name == 14 && strncasecmp((const char *)s, "Content-Length", 14) == 0)
		return httpresp_content_length(s + vs, ve - vs, max, out);
	if (name == 13 && strncasecmp((const char *)s, "Content-Range", 13) == 0)
		return httpresp_content_range(s + vs, ve - vs, max, out);
	if (name == 17 && strncasecmp((const char *)s, "Transfer-Encoding", 17) == 0)
		httpresp_transfer_encoding(s + vs, ve - vs, out);
	return 0;
}

int httpresp_parse_head(const void *buf, size_t len, struct httpresp_head *out)
{
	return httpresp_parse_head_max(buf, len, MAX_HTTP_BODY_BYTES, out);
}

int httpresp_parse_head_max(const void *buf, size_t len, long long max_body,
                            struct httpresp_head *out)
{
	const unsigned char *b = buf;
	size_t end, pos = 0, eol, n, lines = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->content_length = -1;
	out->range_first = out->range_last = out->range_total = -1;
	if (len > MAX_HTTP_HEADERS_BYTES)
		len = MAX_HTTP_HEADERS_BYTES;
	if ((end = httpresp_find_end(b, len)) == 0)
		return len >= MAX_HTTP_HEADERS_BYTES ? TE_ERR_TOO_LONG : TE_ERR_TRUNCATED;
	while (pos < end) {
		eol = pos;
		while (b[eol] != '\n')   /* found by httpresp_find_end: ends < end */
			eol++;
		n = eol - pos;
		if (n > 0 && b[eol - 1] == '\r')
			n--;
		if (n == 0)
			break;           /* the blank line */
		if (memchr(b + pos, '\r', n) != NULL)
			return TE_ERR_PROTOCOL;
		if (lines == 0)
			r = httpresp_status_line(b + pos, n, out);
		else if (lines > HTTPRESP_MAX_HEADERS)
			r = TE_ERR_TOO_LONG;
		else
			r = httpresp_header_line(b + pos, n, max_body, out);
		if (r != 0)
			return r;
		lines++;
		pos = eol + 1;
	}
	if (lines == 0)
		return TE_ERR_PROTOCOL;  /* the head starts with a blank line */
	if (out->transfer_encoded && out->content_length >= 0)
		return TE_ERR_PROTOCOL;
	out->head_len = end;
	return 0;
}

int httpresp_no_body(int status)
{
	return (status >= 100 && status < 200) || status == 204 || status == 304;
}

int httpresp_range_request(const char *value, long long size, long long *first,
                           long long *last)
{
	const char *dash;
	size_t n;
	long long a, b;

	if (value == NULL || strncmp(value, "bytes=", 6) != 0 || size < 0)
		return TE_ERR_PROTOCOL;
	value += 6;
	n = strnlen(value, 64);
	if (n == 0 || n >= 64 || (dash = memchr(value, '-', n)) == NULL)
		return TE_ERR_PROTOCOL;
	if (dash == value) {
		/* "-N": the last N bytes */
		if ((b = httpresp_number((const unsigned char *)dash + 1, n - 1, LLONG_MAX / 2)) < 0)
			return TE_ERR_PROTOCOL;
		if (b == 0 || size == 0)
			return TE_ERR_TOO_LONG;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 0;
	}
	if ((a = httpresp_number((const unsigned char *)value, (size_t)(dash - value),
	                         LLONG_MAX / 2)) < 0)
		return TE_ERR_PROTOCOL;
	if ((size_t)(dash - value) + 1 == n) {
		b = size - 1;
	} else if ((b = httpresp_number((const unsigned char *)dash + 1,
	                                n - (size_t)(dash - value) - 1, LLONG_MAX / 2)) < 0 ||
	           b < a) {
		return TE_ERR_PROTOCOL;
	}
	if (a >= size)
		return TE_ERR_TOO_LONG;
	*first = a;
	*last = b < size ? b : size - 1;
	return 0;
}

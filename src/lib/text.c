/* text.c: the displayable-text checker and escaper (text.h).
 *
 * A terminal obeys C0 and C1 controls (U+009B is CSI, the start of an escape
 * sequence), and a bidirectional override makes "gnp.exe" print as
 * "exe.png". Either lets whoever typed a reason or a name decide what an
 * operator reads, so such text is refused where it enters and escaped where
 * it leaves. */
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

/* Decode one UTF-8 character of at most n bytes at p into *cp. Returns its
 * length (1..4), or 0 when the bytes are not a well-formed, shortest-form
 * encoding of a Unicode scalar value. */
static size_t text_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2, c = p[0] & 0x1f, min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3, c = p[0] & 0x0f, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4, c = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;  /* a continuation byte, 0xc0/0xc1 (overlong) or 0xf5.. */
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Why code point c may not be shown, or NULL when it may. */
static const char *text_refused(uint32_t c)
{
	if (c < 0x20)
		return "a control character";
	if (c == 0x7f)
		return "a DEL character";
	if (c >= 0x80 && c <= 0x9f)
		return "a C1 control (U+0080..U+009F)";
	if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
		return "a bidirectional override or isolate (U+202A..U+202E, U+2066..U+2069)";
	if (c == 0x200e || c == 0x200f || c == 0x061c)
		return "a bidirectional mark (U+200E, U+200F, U+061C)";
	if (c == 0x2028 || c == 0x2029)
		return "a line or paragraph separator (U+2028, U+2029)";
	return NULL;
}

int text_check_display(const char *s, size_t max, const char **why)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max), len;
	const char *bad;
	uint32_t c;

	if (why != NULL)
		*why = NULL;
	if (n >= max) {
		if (why != NULL)
			*why = "too long";
		return TE_ERR_TOO_LONG;
	}
	while (n > 0) {
		if ((len = text_decode(p, n, &c)) == 0) {
			if (why != NULL)
				*why = "not valid UTF-8";
			return TE_ERR_INVALID;
		}
		if ((bad = text_refused(c)) != NULL) {
			if (why != NULL)
				*why = bad;
			return TE_ERR_INVALID;
		}
		p += len;
		n -= len;
	}
	return 0;
}

char *text_escape_display(const char *s, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len, used = 0, w;
	char piece[16];
	uint32_t c;

	if (outsz == 0)
		return out;
	while (n > 0) {
		len = text_decode(p, n, &c);
		if (len == 0) {
			len = 1;
			snprintf(piece, sizeof(piece), "\\x%02x", p[0]);
		} else if (c == '\\') {
			snprintf(piece, sizeof(piece), "\\\\");
		} else if (text_refused(c) != NULL) {
			if (c < 0x80)
				snprintf(piece, sizeof(piece), "\\x%02x", (unsigned)c);
			else
				snprintf(piece, sizeof(piece), "\\u%04x", (unsigned)c);
		} else {
			memcpy(piece, p, len);
			piece[len] = '\0';
		}
		w = strlen(piece);
		if (used + w >= outsz)
			break;  /* never half a character or half an escape */
		memcpy(out + used, piece, w);
		used += w;
		p += len;
		n -= len;
	}
	out[used] = '\0';
	return out;
}

int text_next_line(const char **p, char *line, size_t linesz)
{
	const char *s = *p, *nl;
	size_t n, len;

	if (*s == '\0' || linesz == 0)
		return 0;
	nl = strchr(s, '\n');
	len = nl != NULL ? (size_t)(nl - s) : strlen(s);
	n = len < linesz - 1 ? len : linesz - 1;
	memcpy(line, s, n);
	line[n] = '\0';
	*p = s + len + (nl != NULL);
	return 1;
}

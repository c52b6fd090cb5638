/* fuzz_asciicast.c: the asciicast player and its terminal filter
 * (src/cli/play.c). The input is played at speed 0 to /dev/null, and also
 * fed to the filter whole and in odd-sized chunks: the two outputs must be
 * the same (the state across calls is right), and the output must hold
 * nothing but printable text, well-formed UTF-8 without C1 or bidi
 * controls, CR LF TAB BS, and whole CSI and ESC sequences of the kinds
 * passed: never ESC ] or ESC P, a raw 0x80..0x9F outside a multibyte
 * character, or BEL. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "play.h"

static int devnull = -1;

/* Length of the well-formed UTF-8 character at p[0..n), 0 if none. */
static size_t u8_len(const unsigned char *p, size_t n, unsigned long *cp)
{
	size_t k, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (n < k)
		return 0;
	*cp = p[0] & (0x7f >> k);
	for (i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (p[i] & 0x3f);
	}
	if ((k == 3 && *cp < 0x800) || (k == 4 && *cp < 0x10000) ||
	    (*cp >= 0xd800 && *cp <= 0xdfff) || *cp > 0x10ffff)
		return 0;
	return k;
}

/* Length of the passed ESC sequence at p[0..n) (p[0] is ESC), 0 if it is
 * not one the filter may let out. */
static size_t esc_len(const unsigned char *p, size_t n)
{
	size_t i;

	if (n < 2)
		return 0;
	if (strchr("78M=>", p[1]) != NULL && p[1] != '\0')
		return 2;
	if (p[1] == '(' || p[1] == ')')
		return n >= 3 && (p[2] == 'B' || p[2] == '0') ? 3 : 0;
	if (p[1] != '[')
		return 0;
	/* parameters, '?' the only private marker; one intermediate at most,
	 * never '$'; a final that is no query, window operation or printer */
	for (i = 2; i < n && i < PLAY_CSI_MAX_BYTES && p[i] >= 0x30 && p[i] <= 0x3f; i++)
		if (p[i] >= 0x3c && p[i] <= 0x3e)
			return 0;
	if (i < n && i < PLAY_CSI_MAX_BYTES && strchr(" !\"", p[i]) != NULL && p[i] != '\0')
		i++;
	if (i < n && i < PLAY_CSI_MAX_BYTES && p[i] >= 0x40 && p[i] <= 0x7e)
		return strchr("cntxi", p[i]) == NULL ? i + 1 : 0;
	return 0;
}

static void check_output(const unsigned char *p, size_t n)
{
	unsigned long cp;
	size_t i = 0, k;

	while (i < n) {
		if (p[i] == 0x1b) {
			if ((k = esc_len(p + i, n - i)) == 0)
				__builtin_trap();
			i += k;
		} else if (p[i] >= 0x80) {
			if ((k = u8_len(p + i, n - i, &cp)) == 0)
				__builtin_trap();
			if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
			    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
			    cp == 0x200f || cp == 0x061c)
				__builtin_trap();
			i += k;
		} else if ((p[i] < 0x20 && p[i] != '\r' && p[i] != '\n' &&
		            p[i] != '\t' && p[i] != '\b') || p[i] == 0x7f) {
			__builtin_trap();   /* BEL among them */
		} else {
			i++;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct play_opts o = { 0, 0 };
	struct play_filter f;
	char why[256], *whole, *chunked;
	size_t cap = PLAY_FILTER_OUT_BYTES(size) + PLAY_FILTER_END_BYTES;
	size_t nw, nc, pos, k, step, room;

	if (devnull < 0 && (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		return 0;
	play_cast((const char *)data, size, &o, devnull, why, sizeof(why));

	if ((whole = malloc(cap)) == NULL)
		return 0;
	if ((chunked = malloc(cap)) == NULL) {
		free(whole);
		return 0;
	}
	play_filter_init(&f);
	nw = play_filter(&f, (const char *)data, size, whole, cap);
	nw += play_filter_end(&f, whole + nw, cap - nw);
	check_output((const unsigned char *)whole, nw);

	/* chunks of 1, 3, 5, ... 15 bytes, then again, so every cut is tried */
	play_filter_init(&f);
	nc = 0;
	for (pos = 0, step = 1; pos < size; pos += k, step = step >= 15 ? 1 : step + 2) {
		k = size - pos < step ? size - pos : step;
		room = PLAY_FILTER_OUT_BYTES(k) < cap - nc ? PLAY_FILTER_OUT_BYTES(k)
		                                           : cap - nc;
		nc += play_filter(&f, (const char *)data + pos, k, chunked + nc, room);
	}
	nc += play_filter_end(&f, chunked + nc, cap - nc);
	if (nc != nw || memcmp(whole, chunked, nw) != 0)
		__builtin_trap();
	free(chunked);
	free(whole);
	return 0;
}

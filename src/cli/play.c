/* play.c: asciicast v2 playback and the terminal filter it writes through.
 * The filter is an allowlist: only what merely draws on the screen reaches
 * the viewer's terminal, and a sequence is let out only once it is known
 * whole and harmless, so the terminal is never left inside a sequence. */
#include "play.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"

/* Where the filter is in the stream. */
enum {
	PF_GROUND = 0,
	PF_ESC,          /* after ESC */
	PF_ESC_CHARSET,  /* after ESC ( or ESC ), csi[0..2) holds them */
	PF_ESC_DROP,     /* an ESC sequence we do not pass: to its final byte */
	PF_CSI,          /* ESC [ collected in csi[] */
	PF_CSI_DROP,     /* a CSI dropped whole: to its final byte */
	PF_STR,          /* OSC, DCS, APC, PM, SOS: dropped to BEL or ST */
	PF_STR_ESC,      /* ESC inside such a string */
};

/* Terminal modes the output changed, put back by play_filter_end. */
#define PM_ALT_SCREEN    0x01u   /* ?1049h, ?1047h, ?47h */
#define PM_CURSOR_HIDDEN 0x02u   /* ?25l */
#define PM_APP_CURSOR    0x04u   /* ?1h */
#define PM_APP_KEYPAD    0x08u   /* ESC = */
#define PM_SCROLL_REGION 0x10u   /* CSI Pt;Pb r */

#define ESC  0x1b
#define BEL  0x07
#define CAN  0x18
#define SUB  0x1a
#define DEL  0x7f

static const char REPLACEMENT[] = "\xEF\xBF\xBD";   /* U+FFFD */

void play_filter_init(struct play_filter *f)
{
	memset(f, 0, sizeof(*f));
}

/* Append s[0..n) to out when all of it fits; a sequence never goes out in
 * part, so a short out drops it whole. */
static void put(char *out, size_t outcap, size_t *o, const void *s, size_t n)
{
	if (n > outcap - *o)
		return;
	memcpy(out + *o, s, n);
	*o += n;
}

/* C0 controls that only move the cursor on this screen. */
static int pf_c0_passes(unsigned char c)
{
	return c == '\r' || c == '\n' || c == '\t' || c == '\b';
}

/* Code points that never reach the terminal although well-formed: C1
 * controls, and the bidirectional controls that can make the text shown
 * differ from the text recorded. */
static int pf_cp_dropped(unsigned long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
	       cp == 0x061c;
}

/* Private modes that make the terminal send reports to whatever reads it
 * (mouse, focus, bracketed paste): not drawing, so not passed. */
static int pf_mode_reports(unsigned long m)
{
	return m == 9 || (m >= 1000 && m <= 1006) || m == 1015 || m == 1016 ||
	       m == 2004;
}

/* The numbers of a CSI's parameter bytes p[0..n) ("1;25" -> 1, 25); calls
 * fn on each. Returns 0 when fn refused one, or when p holds anything but
 * digits and ';' (a ':' sub-parameter) or a number past 65535, which a
 * terminal might read as some other mode. */
static int pf_each_param(const unsigned char *p, size_t n,
                         int (*fn)(unsigned long, void *), void *arg)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; i <= n; i++) {
		if (i == n || p[i] == ';') {
			if (!fn(v, arg))
				return 0;
			v = 0;
		} else if (p[i] >= '0' && p[i] <= '9') {
			v = v * 10 + (unsigned long)(p[i] - '0');
			if (v > 65535)
				return 0;
		} else {
			return 0;
		}
	}
	return 1;
}

static int pf_private_ok(unsigned long m, void *arg)
{
	(void)arg;
	return !pf_mode_reports(m);
}

struct pf_modes {
	unsigned *modes;
	int set;
};

static int pf_track_private(unsigned long m, void *arg)
{
	struct pf_modes *pm = arg;
	unsigned bit = 0;

	if (m == 1049 || m == 1047 || m == 47)
		bit = PM_ALT_SCREEN;
	else if (m == 1)
		bit = PM_APP_CURSOR;
	else if (m == 25) {
		/* ?25h shows the cursor, so the bit is the other way round */
		if (pm->set)
			*pm->modes &= ~PM_CURSOR_HIDDEN;
		else
			*pm->modes |= PM_CURSOR_HIDDEN;
		return 1;
	}
	if (pm->set)
		*pm->modes |= bit;
	else
		*pm->modes &= ~bit;
	return 1;
}

/* Plain SM/RM: only insert mode (4) passes; the others lock the keyboard
 * (2), switch local echo (12) or change what Enter sends (20). */
static int pf_ansi_mode_ok(unsigned long m, void *arg)
{
	(void)arg;
	return m == 4;
}

/* Final bytes of plain CSI sequences (no prefix, no intermediate) that only
 * move the cursor, edit, scroll, colour or set margins: ICH CUU CUD CUF CUB
 * CNL CPL CHA CUP CHT ED EL IL DL DCH SU SD ECH CBT HPA HPR REP VPA VPR HVP
 * TBC SGR DECSTBM SCOSC SCORC. h and l are judged apart. Not among them:
 * c n x (the terminal answers), t (window operations), i (printer), q
 * (keyboard LEDs), and whatever a terminal might make of the rest. */
#define PF_CSI_DRAWING_FINALS "@ABCDEFGHIJKLMPSTXZ^`abdefgmrsu"

/* Whether the complete CSI in f->csi (ESC [ params intermediates final)
 * only draws; tracks the modes it changes when it passes. An allowlist:
 * the sequences with intermediates alone hold locator reports (' z),
 * checksum requests (* y), status requests ($ p, # |) and screen resizes
 * (* |). */
static int pf_csi_passes(struct play_filter *f)
{
	const unsigned char *p = f->csi + 2;
	size_t n = (size_t)f->csi_len - 2, np = 0, i;
	unsigned char fin = f->csi[f->csi_len - 1], inter = 0, priv = 0;
	struct pf_modes pm;

	while (np < n - 1 && p[np] >= 0x30 && p[np] <= 0x3f)
		np++;
	if (n - 1 - np > 1)
		return 0;   /* two intermediates: nothing that only draws */
	if (n - 1 - np == 1)
		inter = p[np];
	for (i = 0; i < np; i++) {
		if (p[i] >= 0x3c && p[i] <= 0x3f) {
			if (priv != 0 || i != 0)
				return 0;   /* a prefix only leads */
			priv = p[i];
		}
	}
	/* xterm's and kitty's '<' '=' '>' extensions: version and key queries,
	 * keyboard protocols, pointer modes */
	if (priv != 0 && priv != '?')
		return 0;
	if (inter != 0)   /* DECSCUSR (cursor shape), DECSCA, DECSTR (soft reset) */
		return priv == 0 && ((fin == 'q' && (inter == ' ' || inter == '"')) ||
		                     (fin == 'p' && inter == '!'));
	if (priv == '?') {
		if (fin == 'h' || fin == 'l') {
			if (!pf_each_param(p + 1, np - 1, pf_private_ok, NULL))
				return 0;
			pm.modes = &f->modes;
			pm.set = fin == 'h';
			pf_each_param(p + 1, np - 1, pf_track_private, &pm);
			return 1;
		}
		/* selective erase; xterm's save and restore of private modes;
		 * anything else with '?' asks (?n, ?u, ?S, ?m) */
		return fin == 'J' || fin == 'K' || fin == 's' || fin == 'r';
	}
	if (fin == 'h' || fin == 'l')
		return pf_each_param(p, np, pf_ansi_mode_ok, NULL);
	if (fin == 'r') {
		if (np > 0)
			f->modes |= PM_SCROLL_REGION;
		else
			f->modes &= ~PM_SCROLL_REGION;
	}
	return strchr(PF_CSI_DRAWING_FINALS, fin) != NULL;
}

/* The byte after a lead byte c0 that keeps the character well-formed:
 * no overlong forms, no surrogates, nothing past U+10FFFF. */
static int pf_u8_second_ok(unsigned char c0, unsigned char c)
{
	unsigned char lo = 0x80, hi = 0xbf;

	if (c0 == 0xe0)
		lo = 0xa0;
	else if (c0 == 0xed)
		hi = 0x9f;
	else if (c0 == 0xf0)
		lo = 0x90;
	else if (c0 == 0xf4)
		hi = 0x8f;
	return c >= lo && c <= hi;
}

/* The character in f->u8 is complete: pass it unless it is one of those
 * dropped. */
static void pf_u8_done(struct play_filter *f, char *out, size_t outcap, size_t *o)
{
	unsigned long cp;
	size_t i;

	cp = f->u8[0] & (0x7f >> f->u8_need);
	for (i = 1; i < f->u8_need; i++)
		cp = (cp << 6) | (f->u8[i] & 0x3f);
	if (!pf_cp_dropped(cp))
		put(out, outcap, o, f->u8, f->u8_need);
	f->u8_len = f->u8_need = 0;
}

/* One byte of ground state at or above 0x80, or the byte after a partial
 * character. Returns 1 when c was consumed, 0 when the partial character
 * was ended (as U+FFFD) and c must be looked at again. */
static int pf_u8_byte(struct play_filter *f, unsigned char c, char *out,
                      size_t outcap, size_t *o)
{
	if (f->u8_len > 0) {
		int ok = f->u8_len == 1 ? pf_u8_second_ok(f->u8[0], c)
		                        : (c & 0xc0) == 0x80;

		if (!ok) {
			put(out, outcap, o, REPLACEMENT, 3);
			f->u8_len = f->u8_need = 0;
			return 0;
		}
		f->u8[f->u8_len++] = c;
		if (f->u8_len == f->u8_need)
			pf_u8_done(f, out, outcap, o);
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		f->u8_need = 2;
	else if (c >= 0xe0 && c <= 0xef)
		f->u8_need = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		f->u8_need = 4;
	else {
		/* a stray continuation byte (raw C1 among them), C0, C1, F5..FF */
		put(out, outcap, o, REPLACEMENT, 3);
		return 1;
	}
	f->u8[0] = c;
	f->u8_len = 1;
	return 1;
}

/* A C0 control met inside an escape sequence is carried out there and then
 * by a terminal; pass the harmless ones the same way. */
static void pf_c0(unsigned char c, char *out, size_t outcap, size_t *o)
{
	if (pf_c0_passes(c))
		put(out, outcap, o, &c, 1);
}

static void pf_byte(struct play_filter *f, unsigned char c, char *out,
                    size_t outcap, size_t *o);

static void pf_ground(struct play_filter *f, unsigned char c, char *out,
                      size_t outcap, size_t *o)
{
	if (c == ESC)
		f->state = PF_ESC;
	else if ((c >= 0x20 && c < DEL) || pf_c0_passes(c))
		put(out, outcap, o, &c, 1);
	/* other C0 controls and DEL are dropped */
}

static void pf_esc(struct play_filter *f, unsigned char c, char *out,
                   size_t outcap, size_t *o)
{
	unsigned char seq[2] = { ESC, c };

	switch (c) {
	case '[':
		f->csi[0] = ESC;
		f->csi[1] = '[';
		f->csi_len = 2;
		f->state = PF_CSI;
		return;
	case ']': case 'P': case '_': case '^': case 'X':
		f->state = PF_STR;
		return;
	case '(': case ')':
		f->csi[0] = ESC;
		f->csi[1] = c;
		f->state = PF_ESC_CHARSET;
		return;
	case '7': case '8': case 'M': case '>':
		if (c == '>')
			f->modes &= ~PM_APP_KEYPAD;
		put(out, outcap, o, seq, 2);
		f->state = PF_GROUND;
		return;
	case '=':
		f->modes |= PM_APP_KEYPAD;
		put(out, outcap, o, seq, 2);
		f->state = PF_GROUND;
		return;
	case ESC:
		return;   /* the first ESC led nowhere; the second starts anew */
	case CAN: case SUB:
		f->state = PF_GROUND;
		return;
	}
	if (c >= 0x20 && c <= 0x2f)
		f->state = PF_ESC_DROP;        /* an intermediate: ESC # 8, ESC SP G */
	else if (c >= 0x30 && c < DEL)
		f->state = PF_GROUND;          /* ESC c, ESC Z, ...: dropped */
	else {
		f->state = PF_GROUND;          /* the ESC is dropped, c stands alone */
		pf_byte(f, c, out, outcap, o);
	}
}

static void pf_csi(struct play_filter *f, unsigned char c, char *out,
                   size_t outcap, size_t *o)
{
	if (c >= 0x20 && c <= 0x7e) {
		/* a parameter byte after an intermediate makes it malformed */
		if (f->state == PF_CSI && c <= 0x3f && c >= 0x30 &&
		    f->csi[f->csi_len - 1] >= 0x20 && f->csi[f->csi_len - 1] <= 0x2f)
			f->state = PF_CSI_DROP;
		if (f->state == PF_CSI) {
			if (f->csi_len == PLAY_CSI_MAX_BYTES) {
				f->state = PF_CSI_DROP;
			} else {
				f->csi[f->csi_len++] = c;
			}
		}
		if (c >= 0x40) {
			if (f->state == PF_CSI && pf_csi_passes(f))
				put(out, outcap, o, f->csi, f->csi_len);
			f->state = PF_GROUND;
			f->csi_len = 0;
		}
		return;
	}
	if (c == ESC) {
		f->state = PF_ESC;
	} else if (c == CAN || c == SUB) {
		f->state = PF_GROUND;
	} else if (c < 0x20) {
		pf_c0(c, out, outcap, o);
		return;
	} else if (c == DEL) {
		return;
	} else {
		/* a byte past ASCII ends it; the CSI is dropped */
		f->state = PF_GROUND;
		f->csi_len = 0;
		pf_byte(f, c, out, outcap, o);
		return;
	}
	f->csi_len = 0;
}

static void pf_byte(struct play_filter *f, unsigned char c, char *out,
                    size_t outcap, size_t *o)
{
	switch (f->state) {
	case PF_GROUND:
		if (c >= 0x80 || f->u8_len > 0) {
			while (!pf_u8_byte(f, c, out, outcap, o)) {
				if (c < 0x80) {
					pf_ground(f, c, out, outcap, o);
					break;
				}
			}
		} else {
			pf_ground(f, c, out, outcap, o);
		}
		return;
	case PF_ESC:
		pf_esc(f, c, out, outcap, o);
		return;
	case PF_ESC_CHARSET:
		if (c == 'B' || c == '0') {
			f->csi[2] = c;
			put(out, outcap, o, f->csi, 3);
			f->state = PF_GROUND;
		} else if (c >= 0x20 && c <= 0x2f) {
			f->state = PF_ESC_DROP;
		} else if (c >= 0x30 && c < DEL) {
			f->state = PF_GROUND;
		} else {
			f->state = PF_ESC;
			pf_esc(f, c, out, outcap, o);
		}
		return;
	case PF_ESC_DROP:
		if (c >= 0x20 && c <= 0x2f)
			return;
		if (c >= 0x30 && c < DEL) {
			f->state = PF_GROUND;
			return;
		}
		f->state = PF_ESC;
		pf_esc(f, c, out, outcap, o);
		return;
	case PF_CSI:
	case PF_CSI_DROP:
		pf_csi(f, c, out, outcap, o);
		return;
	case PF_STR:
		if (c == BEL || c == CAN || c == SUB)
			f->state = PF_GROUND;
		else if (c == ESC)
			f->state = PF_STR_ESC;
		return;
	case PF_STR_ESC:
		if (c == '\\') {
			f->state = PF_GROUND;
		} else {
			/* as xterm: an ESC that is not ST ends the string and
			 * begins a sequence of its own */
			f->state = PF_ESC;
			pf_esc(f, c, out, outcap, o);
		}
		return;
	}
}

size_t play_filter(struct play_filter *f, const char *in, size_t n, char *out,
                   size_t outcap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++)
		pf_byte(f, (unsigned char)in[i], out, outcap, &o);
	return o;
}

size_t play_filter_end(struct play_filter *f, char *out, size_t outcap)
{
	size_t o = 0;

	if (f->u8_len > 0)
		put(out, outcap, &o, REPLACEMENT, 3);
	put(out, outcap, &o, "\033[0m", 4);
	if (f->modes & PM_SCROLL_REGION)   /* DECSTBM homes the cursor: keep it */
		put(out, outcap, &o, "\0337\033[r\0338", 7);
	if (f->modes & PM_ALT_SCREEN)
		put(out, outcap, &o, "\033[?1049l", 8);
	if (f->modes & PM_CURSOR_HIDDEN)
		put(out, outcap, &o, "\033[?25h", 6);
	if (f->modes & PM_APP_CURSOR)
		put(out, outcap, &o, "\033[?1l", 5);
	if (f->modes & PM_APP_KEYPAD)
		put(out, outcap, &o, "\033>", 2);
	play_filter_init(f);
	return o;
}

/* ---- playback ---- */

/* Input bytes filtered at a time; the output buffer lives on the stack. */
#define PLAY_CHUNK_BYTES 4096
/* A wait longer than this is surely a clock jump in the recording; also
 * keeps the conversion to time_t defined. */
#define PLAY_MAX_WAIT_S  1e9

/* why = "line N: " (when line > 0) and the rest. */
static void play_why(char *why, size_t whysz, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void play_why(char *why, size_t whysz, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	int k = 0;

	if (why == NULL || whysz == 0)
		return;
	if (line > 0)
		k = snprintf(why, whysz, "line %lu: ", line);
	if (k < 0 || (size_t)k >= whysz)
		return;
	va_start(ap, fmt);
	vsnprintf(why + k, whysz - (size_t)k, fmt, ap);
	va_end(ap);
}

static int play_write(int fd, const char *p, size_t n)
{
	struct pollfd pfd;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return TE_ERR_SYS;
		} else {
			if (w == 0)
				errno = EIO;
			return TE_ERR_SYS;
		}
	}
	return 0;
}

static void play_wait(double s)
{
	struct timespec ts, rem;

	if (!(s > 0))
		return;
	if (s > PLAY_MAX_WAIT_S)
		s = PLAY_MAX_WAIT_S;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec > 999999999L)
		ts.tv_nsec = 999999999L;
	while (nanosleep(&ts, &rem) < 0 && errno == EINTR)
		ts = rem;
}

static int play_output(struct play_filter *f, const char *s, size_t n, int out)
{
	char buf[PLAY_FILTER_OUT_BYTES(PLAY_CHUNK_BYTES)];
	size_t k, m;
	int r;

	while (n > 0) {
		k = n < PLAY_CHUNK_BYTES ? n : PLAY_CHUNK_BYTES;
		m = play_filter(f, s, k, buf, sizeof(buf));
		if (m > 0 && (r = play_write(out, buf, m)) != 0)
			return r;
		s += k;
		n -= k;
	}
	return 0;
}

/* 1 when line[0..n) holds only JSON whitespace. */
static int play_blank(const char *line, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return 0;
	return 1;
}

static int play_header(const char *line, size_t n, unsigned long lineno,
                       char *why, size_t whysz)
{
	json_error_t jerr;
	json_t *h, *v;
	int r = 0;

	h = json_loadb(line, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (h == NULL) {
		play_why(why, whysz, lineno, "header: not valid JSON (%s)", jerr.text);
		return TE_ERR_INVALID;
	}
	v = json_object_get(h, "version");
	if (!json_is_object(h)) {
		play_why(why, whysz, lineno, "header: not a JSON object");
		r = TE_ERR_INVALID;
	} else if (!json_is_integer(v) || json_integer_value(v) != 2) {
		play_why(why, whysz, lineno, "header: not asciicast version 2");
		r = TE_ERR_INVALID;
	}
	json_decref(h);
	return r;
}

/* One event line: its time in *t (checked against *prev), and for an
 * output event its data written through the filter after the wait. */
static int play_event(const char *line, size_t n, unsigned long lineno,
                      const struct play_opts *opts, double *prev,
                      double *shown, struct play_filter *f, int out, char *why, size_t whysz)
{
	json_error_t jerr;
	json_t *ev, *jt, *jtype, *jdata;
	const char *bad = NULL;
	double t, wait;
	int r = 0;

	ev = json_loadb(line, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (ev == NULL) {
		play_why(why, whysz, lineno, "not valid JSON (%s)", jerr.text);
		return TE_ERR_INVALID;
	}
	jt = json_array_get(ev, 0);
	jtype = json_array_get(ev, 1);
	jdata = json_array_get(ev, 2);
	t = json_number_value(jt);
	if (!json_is_array(ev))
		bad = "not a JSON array";
	else if (json_array_size(ev) != 3)
		bad = "not an event [time, type, data]";
	else if (!json_is_number(jt) || !isfinite(t) || t < 0)
		bad = "the time is not a number of seconds >= 0";
	else if (t < *prev)
		bad = "the time goes backwards";
	else if (!json_is_string(jtype) || !json_is_string(jdata))
		bad = "the type and data are not strings";
	if (bad != NULL) {
		play_why(why, whysz, lineno, "%s", bad);
		json_decref(ev);
		return TE_ERR_INVALID;
	}
	if (strcmp(json_string_value(jtype), "o") == 0) {
		wait = t - *shown;
		if (opts->max_idle_s > 0 && wait > opts->max_idle_s)
			wait = opts->max_idle_s;
		if (opts->speed > 0 && isfinite(opts->speed))
			play_wait(wait / opts->speed);
		*shown = t;
		r = play_output(f, json_string_value(jdata), json_string_length(jdata),
		                out);
		if (r != 0)
			play_why(why, whysz, lineno, "cannot write the output");
	}
	/* a skipped event orders the next one, but the pause before the next
	 * output is counted from the last output */
	*prev = t;
	json_decref(ev);
	return r;
}

int play_cast(const char *buf, size_t len, const struct play_opts *opts, int out,
              char *why, size_t whysz)
{
	static const struct play_opts real_time = { 1.0, 0 };
	struct play_filter f;
	char tail[PLAY_FILTER_END_BYTES];
	unsigned long lineno = 0, events = 0;
	size_t pos = 0, n, tn;
	const char *line, *nl;
	double prev = 0, shown = 0;
	int r = 0, header = 0, tr;

	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (opts == NULL)
		opts = &real_time;
	if (len > PLAY_MAX_FILE_BYTES) {
		play_why(why, whysz, 0, "the recording is larger than 64 MiB");
		return TE_ERR_TOO_LONG;
	}
	play_filter_init(&f);
	while (pos < len && r == 0) {
		line = buf + pos;
		nl = memchr(line, '\n', len - pos);
		n = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += n + (nl != NULL);
		lineno++;
		if (n > PLAY_MAX_LINE_BYTES) {
			play_why(why, whysz, lineno, "longer than 64 KiB");
			r = TE_ERR_TOO_LONG;
		} else if (play_blank(line, n)) {
			continue;
		} else if (!header) {
			r = play_header(line, n, lineno, why, whysz);
			header = r == 0;
		} else if (++events > PLAY_MAX_EVENTS) {
			play_why(why, whysz, lineno, "more than 10 million events");
			r = TE_ERR_TOO_LONG;
		} else {
			r = play_event(line, n, lineno, opts, &prev, &shown, &f, out,
			               why, whysz);
		}
	}
	if (r == 0 && !header) {
		play_why(why, whysz, lineno + (lineno == 0), "header: missing");
		r = TE_ERR_INVALID;
	}
	if (header) {
		/* put the viewer's terminal back, after an error as well */
		tn = play_filter_end(&f, tail, sizeof(tail));
		tr = play_write(out, tail, tn);
		if (r == 0 && tr != 0) {
			play_why(why, whysz, 0, "cannot write the output");
			r = tr;
		}
	}
	return r;
}

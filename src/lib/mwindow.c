/* mwindow.c: maintenance windows: the spec's parser and canonical form, time
 * zone names, and whether a moment falls inside a window. */
#include "mwindow.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

#define MWINDOW_DAY_MIN   1440
#define MWINDOW_ALL_DAYS  0x7fu
#define MWINDOW_SCAN_S    (8 * 86400)
#define MWINDOW_QUOTE_BYTES 24   /* a quoted bad part, NUL included */

static const char *const mwindow_day_names[7] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun"
};

/* ---- parsing ---- */

struct mwindow_cursor {
	const char *p;
	size_t entry;     /* 1-based, for messages */
	char *why;
	size_t whysz;
};

static int mwindow_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void mwindow_skip(struct mwindow_cursor *c)
{
	while (mwindow_blank(*c->p))
		c->p++;
}

static int mwindow_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int mwindow_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Copy the word of the text at p to print in a message: up to the next
 * blank, ',' or (after its first byte) '-' or '+', at most
 * MWINDOW_QUOTE_BYTES - 1 bytes, anything that is not printable ASCII as '?'
 * (the text was checked before, this is a second line of defence). */
static const char *mwindow_quote(const char *p, char out[MWINDOW_QUOTE_BYTES])
{
	size_t n = 0;

	for (; p[n] != '\0' && p[n] != ',' && !mwindow_blank(p[n]) &&
	       !(n > 0 && (p[n] == '-' || p[n] == '+')) &&
	       n + 1 < MWINDOW_QUOTE_BYTES; n++)
		out[n] = p[n] >= 0x20 && p[n] < 0x7f ? p[n] : '?';
	out[n] = '\0';
	return out;
}

/* why = "entry N: MSG \"QUOTE\"" (no quote when at is NULL or at an end). */
static int mwindow_bad(struct mwindow_cursor *c, const char *msg, const char *at)
{
	char q[MWINDOW_QUOTE_BYTES];

	if (c->why == NULL || c->whysz == 0)
		return TE_ERR_INVALID;
	if (at != NULL && *mwindow_quote(at, q) != '\0')
		snprintf(c->why, c->whysz, "entry %zu: %s \"%s\"", c->entry, msg, q);
	else
		snprintf(c->why, c->whysz, "entry %zu: %s", c->entry, msg);
	return TE_ERR_INVALID;
}

/* A day name at c->p (any case) into *day, the cursor past it. */
static int mwindow_day(struct mwindow_cursor *c, int *day)
{
	const char *w = c->p;
	size_t n = 0;

	while (mwindow_letter(w[n]))
		n++;
	if (n == 0)
		return mwindow_bad(c, "expected a day (mon..sun or daily) at", w);
	for (int d = 0; d < 7; d++)
		if (n == 3 && strncasecmp(w, mwindow_day_names[d], 3) == 0) {
			*day = d;
			c->p += n;
			return 0;
		}
	return mwindow_bad(c, "unknown day (mon..sun or daily)", w);
}

/* "daily", or day items (a day or a range of days) joined by '+'. */
static int mwindow_days(struct mwindow_cursor *c, unsigned *days)
{
	int a, b, r;

	*days = 0;
	if (strncasecmp(c->p, "daily", 5) == 0 && !mwindow_letter(c->p[5])) {
		c->p += 5;
		*days = MWINDOW_ALL_DAYS;
		return 0;
	}
	for (;;) {
		if ((r = mwindow_day(c, &a)) != 0)
			return r;
		b = a;
		mwindow_skip(c);
		if (*c->p == '-') {
			c->p++;
			mwindow_skip(c);
			if (!mwindow_letter(*c->p))
				return mwindow_bad(c, "expected a day after '-' at", c->p);
			if ((r = mwindow_day(c, &b)) != 0)
				return r;
			mwindow_skip(c);
		}
		for (int d = a;; d = (d + 1) % 7) {   /* a range wraps over Sunday */
			*days |= 1u << d;
			if (d == b)
				break;
		}
		if (*c->p != '+')
			return 0;
		c->p++;
		mwindow_skip(c);
	}
}

/* HH:MM at c->p into minutes 0..1440. */
static int mwindow_time(struct mwindow_cursor *c, const char *what, int *min)
{
	const char *t = c->p;
	int h, m;

	if (!mwindow_digit(t[0]) || !mwindow_digit(t[1]) || t[2] != ':' ||
	    !mwindow_digit(t[3]) || !mwindow_digit(t[4]) || mwindow_digit(t[5])) {
		char msg[64];

		snprintf(msg, sizeof(msg), "expected the %s time as HH:MM at", what);
		return *t == '\0' || *t == ','
		       ? mwindow_bad(c, *what != 's' ? "missing the end time"
		                        : *t == ',' ? "missing the time HH:MM-HH:MM (a list "
		                                      "of days takes '+': sat+sun)"
		                                    : "missing the time HH:MM-HH:MM", NULL)
		       : mwindow_bad(c, msg, t);
	}
	h = (t[0] - '0') * 10 + (t[1] - '0');
	m = (t[3] - '0') * 10 + (t[4] - '0');
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return mwindow_bad(c, "no such time (00:00..24:00)", t);
	*min = h * 60 + m;
	c->p += 5;
	return 0;
}

static int mwindow_entry(struct mwindow_cursor *c, struct mwindow_entry *e)
{
	int r;

	mwindow_skip(c);
	if (*c->p == '\0' || *c->p == ',')
		return mwindow_bad(c, "is empty (a ',' too many?)", NULL);
	if ((r = mwindow_days(c, &e->days)) != 0)
		return r;
	mwindow_skip(c);
	if ((r = mwindow_time(c, "start", &e->start_min)) != 0)
		return r;
	if (e->start_min == MWINDOW_DAY_MIN)
		return mwindow_bad(c, "24:00 can only end a window", NULL);
	mwindow_skip(c);
	if (*c->p == '\0' || *c->p == ',')
		return mwindow_bad(c, "missing the end time", NULL);
	if (*c->p != '-')
		return mwindow_bad(c, "expected '-' and the end time at", c->p);
	c->p++;
	mwindow_skip(c);
	if ((r = mwindow_time(c, "end", &e->end_min)) != 0)
		return r;
	if (e->start_min == e->end_min)
		return mwindow_bad(c, "start and end are the same time", NULL);
	mwindow_skip(c);
	if (*c->p != '\0' && *c->p != ',')
		return mwindow_bad(c, "unexpected text after the times", c->p);
	return 0;
}

/* Refuse what no spec holds before quoting any of it: a control character
 * or a byte outside ASCII is named by its value and offset. */
static int mwindow_printable(const char *text, char *why, size_t whysz)
{
	for (size_t i = 0; text[i] != '\0'; i++) {
		unsigned char b = (unsigned char)text[i];

		if (b == '\t' || (b >= 0x20 && b < 0x7f))
			continue;
		if (why != NULL && whysz > 0)
			snprintf(why, whysz, "%s (0x%02X) at byte %zu",
			         b < 0x80 ? "a control character" : "a byte outside ASCII",
			         b, i + 1);
		return TE_ERR_INVALID;
	}
	return 0;
}

static int mwindow_parse_text(const char *text, struct mwindow *out, char *why,
                              size_t whysz)
{
	struct mwindow_cursor c = { text, 1, why, whysz };
	char canon[MWINDOW_SPEC_BYTES];
	int r;

	if (text == NULL) {
		snprintf(why, whysz, "no text");
		return TE_ERR_INVALID;
	}
	if (strnlen(text, MWINDOW_SPEC_BYTES) >= MWINDOW_SPEC_BYTES) {
		snprintf(why, whysz, "longer than %d bytes", MWINDOW_SPEC_BYTES - 1);
		return TE_ERR_TOO_LONG;
	}
	if ((r = mwindow_printable(text, why, whysz)) != 0)
		return r;
	mwindow_skip(&c);
	if (*c.p == '\0')
		return 0;
	for (;; c.entry++, c.p++) {
		if (out->n == MWINDOW_MAX) {
			snprintf(why, whysz, "more than %d entries", MWINDOW_MAX);
			return TE_ERR_TOO_LONG;
		}
		if ((r = mwindow_entry(&c, &out->e[out->n])) != 0)
			return r;
		out->n++;
		if (*c.p == '\0')
			break;
	}
	/* The canonical form can be longer than compact input ("mon00:00-01:00,"
	 * against "mon 00:00-01:00, "): bound that too, so it reads back. */
	if (mwindow_format(out, canon, sizeof(canon)) != 0) {
		snprintf(why, whysz, "longer than %d bytes when written out",
		         MWINDOW_SPEC_BYTES - 1);
		return TE_ERR_TOO_LONG;
	}
	return 0;
}

int mwindow_parse(const char *text, struct mwindow *out, char *why, size_t whysz)
{
	int r;

	if (why == NULL)
		whysz = 0;
	if (whysz > 0)
		why[0] = '\0';
	memset(out, 0, sizeof(*out));
	if ((r = mwindow_parse_text(text, out, why, whysz)) != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/* ---- canonical text ---- */

struct mwindow_out {
	char *buf;
	size_t size, len;
	int full;
};

static void mwindow_put(struct mwindow_out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->full || o->len + n >= o->size) {
		o->full = 1;
		return;
	}
	memcpy(o->buf + o->len, s, n + 1);
	o->len += n;
}

static void mwindow_put_days(struct mwindow_out *o, unsigned days)
{
	int first = -1, count = 0;

	if (days == MWINDOW_ALL_DAYS) {
		mwindow_put(o, "daily");
		return;
	}
	/* The one day whose eve is not in the set starts a contiguous set. */
	for (int d = 0; d < 7; d++) {
		if (!(days & (1u << d)))
			continue;
		count++;
		if (!(days & (1u << ((d + 6) % 7))))
			first = first < 0 ? d : 7;   /* 7: more than one start */
	}
	if (first >= 0 && first < 7) {
		int last = (first + count - 1) % 7;

		mwindow_put(o, mwindow_day_names[first]);
		if (count >= 2) {
			mwindow_put(o, count == 2 ? "+" : "-");
			mwindow_put(o, mwindow_day_names[last]);
		}
		return;
	}
	for (int d = 0, n = 0; d < 7; d++)
		if (days & (1u << d)) {
			if (n++ > 0)
				mwindow_put(o, "+");
			mwindow_put(o, mwindow_day_names[d]);
		}
}

static int mwindow_entry_ok(const struct mwindow_entry *e)
{
	return e->days != 0 && (e->days & ~MWINDOW_ALL_DAYS) == 0 &&
	       e->start_min >= 0 && e->start_min < MWINDOW_DAY_MIN &&
	       e->end_min >= 0 && e->end_min <= MWINDOW_DAY_MIN &&
	       e->start_min != e->end_min;
}

int mwindow_format(const struct mwindow *w, char *out, size_t outsz)
{
	struct mwindow_out o = { out, outsz, 0, 0 };
	char t[64];

	if (outsz == 0)
		return TE_ERR_TOO_LONG;
	out[0] = '\0';
	if (w->n > MWINDOW_MAX)
		return TE_ERR_INVALID;
	for (size_t i = 0; i < w->n; i++) {
		const struct mwindow_entry *e = &w->e[i];

		if (!mwindow_entry_ok(e)) {
			out[0] = '\0';
			return TE_ERR_INVALID;
		}
		if (i > 0)
			mwindow_put(&o, ", ");
		mwindow_put_days(&o, e->days);
		snprintf(t, sizeof(t), " %02d:%02d-%02d:%02d", e->start_min / 60,
		         e->start_min % 60, e->end_min / 60, e->end_min % 60);
		mwindow_put(&o, t);
	}
	if (o.full) {
		out[0] = '\0';
		return TE_ERR_TOO_LONG;
	}
	return 0;
}

/* ---- time zones ---- */

int mwindow_tz_ok(const char *tz)
{
	char path[sizeof(MWINDOW_ZONEINFO_DIR) + MWINDOW_TZ_BYTES];
	char magic[4];
	struct stat st;
	size_t n;
	int fd, ok;

	if (tz == NULL)
		return TE_ERR_INVALID;
	if (strcmp(tz, "UTC") == 0)
		return 0;
	n = strnlen(tz, MWINDOW_TZ_BYTES);
	if (n == 0 || n >= MWINDOW_TZ_BYTES || tz[0] == '/' || tz[n - 1] == '/' ||
	    strstr(tz, "//") != NULL || strstr(tz, "..") != NULL)
		return TE_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (!mwindow_letter(tz[i]) && !mwindow_digit(tz[i]) &&
		    strchr("_+-/", tz[i]) == NULL)
			return TE_ERR_INVALID;
	snprintf(path, sizeof(path), "%s/%s", MWINDOW_ZONEINFO_DIR, tz);
	/* A regular file, and a compiled zone: zoneinfo also holds tables and
	 * notes that glibc would take silently as UTC. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return TE_ERR_INVALID;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	     read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	     memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok ? 0 : TE_ERR_INVALID;
}

/* TZ as it was before mwindow_zone_enter, to put back. */
struct mwindow_zone {
	char *old;        /* NULL: TZ was unset */
};

static int mwindow_zone_enter(const char *tz, struct mwindow_zone *z)
{
	char value[sizeof(MWINDOW_ZONEINFO_DIR) + MWINDOW_TZ_BYTES + 2];
	const char *old = getenv("TZ");

	z->old = NULL;
	if (mwindow_tz_ok(tz) != 0)
		return TE_ERR_INVALID;
	if (old != NULL && (z->old = strdup(old)) == NULL)
		return TE_ERR_NOMEM;
	/* "UTC0" needs no file; a full path is the very file tz_ok checked,
	 * whatever TZDIR says. */
	if (strcmp(tz, "UTC") == 0)
		snprintf(value, sizeof(value), "UTC0");
	else
		snprintf(value, sizeof(value), ":%s/%s", MWINDOW_ZONEINFO_DIR, tz);
	if (setenv("TZ", value, 1) != 0) {
		free(z->old);
		z->old = NULL;
		return TE_ERR_NOMEM;
	}
	tzset();
	return 0;
}

static void mwindow_zone_leave(struct mwindow_zone *z)
{
	if (z->old != NULL) {
		/* On failure TZ keeps our zone's value, which is still valid. */
		(void)setenv("TZ", z->old, 1);
		free(z->old);
		z->old = NULL;
	} else {
		unsetenv("TZ");
	}
	tzset();
}

/* Local weekday (0 = Monday) and minute of t in the zone entered. */
static int mwindow_wall(int64_t t, int *wday, int *minute)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || localtime_r(&tt, &tm) == NULL)
		return TE_ERR_INVALID;
	*wday = (tm.tm_wday + 6) % 7;
	*minute = tm.tm_hour * 60 + tm.tm_min;
	return 0;
}

int mwindow_local(const char *tz, int64_t t, int *wday, int *minute)
{
	struct mwindow_zone z;
	int r;

	if ((r = mwindow_zone_enter(tz, &z)) != 0)
		return r;
	r = mwindow_wall(t, wday, minute);
	mwindow_zone_leave(&z);
	return r;
}

/* ---- inside or not ---- */

static int mwindow_covers(const struct mwindow *w, int wday, int minute)
{
	int eve = (wday + 6) % 7;

	for (size_t i = 0; i < w->n && i < MWINDOW_MAX; i++) {
		const struct mwindow_entry *e = &w->e[i];

		if (e->start_min < e->end_min) {
			if ((e->days & (1u << wday)) && minute >= e->start_min &&
			    minute < e->end_min)
				return 1;
		} else if (((e->days & (1u << wday)) && minute >= e->start_min) ||
		           ((e->days & (1u << eve)) && minute < e->end_min)) {
			return 1;   /* crosses midnight: this evening or last night's */
		}
	}
	return 0;
}

int mwindow_open(const struct mwindow *w, const char *tz, int64_t t)
{
	int wday, minute, r;

	if (w->n == 0)
		return 1;
	if ((r = mwindow_local(tz, t, &wday, &minute)) != 0)
		return r;
	return mwindow_covers(w, wday, minute);
}

int64_t mwindow_next_open(const struct mwindow *w, const char *tz, int64_t t)
{
	struct mwindow_zone z;
	int64_t m, first, found = 0;
	int wday, minute, was, is;

	if (w->n == 0 || t > INT64_MAX - 2 * MWINDOW_SCAN_S ||
	    t < INT64_MIN + 2 * MWINDOW_SCAN_S)
		return 0;
	first = (t / 60 - (t % 60 < 0)) * 60 + 60;   /* the next whole minute */
	if (mwindow_zone_enter(tz, &z) != 0)
		return 0;
	if (mwindow_wall(first - 60, &wday, &minute) != 0)
		goto out;
	was = mwindow_covers(w, wday, minute);
	for (m = first; m <= t + MWINDOW_SCAN_S; m += 60) {
		if (mwindow_wall(m, &wday, &minute) != 0)
			break;
		is = mwindow_covers(w, wday, minute);
		if (is && !was) {
			found = m;
			break;
		}
		was = is;
	}
out:
	mwindow_zone_leave(&z);
	return found;
}

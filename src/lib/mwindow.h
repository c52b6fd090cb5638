/* mwindow.h: a site's maintenance windows: days of the week and hours, in
 * the site's time zone.
 *
 *   "mon-fri 02:00-04:00, sat+sun 00:00-24:00, daily 22:00-02:00"
 *
 * Entries are separated by ','. An entry is its days, then a start and an
 * end time. Days are mon tue wed thu fri sat sun (any case), a range of them
 * ("mon-fri"; "fri-mon" wraps over the weekend), a '+' list of days and
 * ranges ("sat+sun", "mon-wed+fri"), or "daily". Times are HH:MM from 00:00
 * to 24:00; 24:00 only ends a window; start and end differ. An end at or
 * before the start crosses midnight: "daily 22:00-02:00" covers each day's
 * evening and the next day's morning. Blanks (spaces, tabs) may stand
 * around every part. Empty or all-blank text is no window at all, and no
 * window means always open.
 *
 * Local time comes from the system's zoneinfo files, looked up by setting
 * TZ for the length of one call (the programs are single-threaded). Across
 * a DST change a window follows the wall clock: a time the change skips is
 * never inside a window, a time it repeats is inside it both times. */
#ifndef TETHER_MWINDOW_H
#define TETHER_MWINDOW_H

#include <stddef.h>
#include <stdint.h>

#define MWINDOW_MAX 16            /* entries in one spec */
#define MWINDOW_SPEC_BYTES 256    /* a spec's text, NUL included */
#define MWINDOW_TZ_BYTES 64
#define MWINDOW_ZONEINFO_DIR "/usr/share/zoneinfo"

struct mwindow_entry {
	unsigned days;    /* bit 0 = Monday .. bit 6 = Sunday */
	int start_min;    /* minutes 0..1439 */
	int end_min;      /* minutes 0..1440; end may be <= start: crosses midnight
	                     into the next day */
};

struct mwindow {
	size_t n;
	struct mwindow_entry e[MWINDOW_MAX];
};

/* Parse text into out (entries past n zeroed). 0; TE_ERR_INVALID with why
 * set to a short sentence naming the bad part (printable ASCII only: a
 * control or non-ASCII byte of the text is named by its value, never
 * copied); TE_ERR_TOO_LONG when the text is longer than
 * MWINDOW_SPEC_BYTES - 1, holds more than MWINDOW_MAX entries or would be
 * longer than that in its canonical form (so that every parsed spec can be
 * written out and read back). On error out->n is 0. */
int mwindow_parse(const char *text, struct mwindow *out, char *why, size_t whysz);

/* Canonical text of w into out: entries in order, joined by ", "; days as
 * "daily" for all seven, as a single range where the set is contiguous
 * (wrapping included: "fri-mon"), two neighbouring days as "sat+sun", any
 * other set as a '+' list in Monday-first order ("mon+wed+fri"); "" for
 * n = 0. mwindow_parse reads it back to the same struct. 0; TE_ERR_INVALID
 * for an entry out of range; TE_ERR_TOO_LONG when out is too small
 * (MWINDOW_SPEC_BYTES always holds a parsed spec's text), out then "". */
int mwindow_format(const struct mwindow *w, char *out, size_t outsz);

/* 0 when tz is "UTC" or a name of [A-Za-z0-9_+-] segments joined by '/'
 * (no "..", no leading, trailing or double '/'), at most
 * MWINDOW_TZ_BYTES - 1 bytes, naming a regular file under
 * MWINDOW_ZONEINFO_DIR that is a compiled zone ("TZif"). Else
 * TE_ERR_INVALID. */
int mwindow_tz_ok(const char *tz);

/* Local wall time of Unix time t in zone tz: *wday (0 = Monday .. 6 =
 * Sunday) and *minute (0..1439). 0; TE_ERR_INVALID for a tz that
 * mwindow_tz_ok refuses or a t out of the calendar's range; TE_ERR_NOMEM.
 * TZ is restored (or unset again) before returning. */
int mwindow_local(const char *tz, int64_t t, int *wday, int *minute);

/* 1 when t is inside one of w's entries in zone tz, 0 when not; 1 for
 * w->n == 0 whatever tz is (no window: always open). A negative error for a
 * bad tz, as mwindow_local. */
int mwindow_open(const struct mwindow *w, const char *tz, int64_t t);

/* For display: the first whole minute after t (at most 8 days ahead) at
 * which the window opens, that is which is inside it while the minute before
 * is not. When t is inside a window this is its next opening after it
 * closes. 0 when w->n == 0, when tz is bad or when none is found (a window
 * that never closes never opens). */
int64_t mwindow_next_open(const struct mwindow *w, const char *tz, int64_t t);

#endif

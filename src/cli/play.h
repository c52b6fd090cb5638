/* play.h: the player core of `tether play`: an asciicast v2 recording played
 * to the viewer's terminal through a filter, because the recording was made
 * on a device that may be hostile and its output must not be able to drive
 * the viewer's terminal (answerback queries, clipboard writes, titles,
 * bidi tricks, C1 controls). Pure: no allocation beyond jansson's parse of
 * one line, no global state. */
#ifndef TETHER_CLI_PLAY_H
#define TETHER_CLI_PLAY_H

#include <stddef.h>

#define PLAY_MAX_FILE_BYTES  (64u * 1024 * 1024)   /* a whole recording */
#define PLAY_MAX_LINE_BYTES  (64u * 1024)          /* one JSON line */
#define PLAY_MAX_EVENTS      10000000ul
#define PLAY_CSI_MAX_BYTES   64                    /* ESC [ ... final */

/* Room play_filter needs for n input bytes: a bad byte becomes U+FFFD (three
 * bytes), and a CSI held back from earlier calls (up to PLAY_CSI_MAX_BYTES)
 * comes out whole when its final byte arrives; 4*n + 16 covers the former
 * but not a long held CSI finished by a short call, hence the 80. */
#define PLAY_FILTER_OUT_BYTES(n)  (4 * (size_t)(n) + 80)
/* Room play_filter_end needs. */
#define PLAY_FILTER_END_BYTES     64

struct play_opts {
	double speed;        /* 1.0 real time; 2.0 twice as fast; 0 = no waiting at all */
	double max_idle_s;   /* a pause between events longer than this is cut to it (0 = no cap) */
};

/* Play an asciicast v2 recording held in buf (len bytes, at most
 * PLAY_MAX_FILE_BYTES) to fd out. Output events ("o") are written through
 * the terminal filter below; resize ("r"), input ("i") and unknown event
 * types are skipped. Waits between events per opts (NULL: real time, no
 * cap; nanosleep, restarted on EINTR). When the header was good, what the
 * recording left changed (alternate screen, hidden cursor, colours, ...) is
 * put back at the end, also after an error. Returns 0, or TE_ERR_INVALID /
 * TE_ERR_TOO_LONG with why set ("line 7: not a JSON array", "line 1:
 * header: not asciicast version 2"), or TE_ERR_SYS when out cannot be
 * written. A bad event line after the header is an error, not skipped. */
int play_cast(const char *buf, size_t len, const struct play_opts *opts, int out,
              char *why, size_t whysz);

/* The terminal filter's state: kept across calls, so an escape sequence or
 * a UTF-8 character split between events is judged whole. Plain struct,
 * no allocation; play_filter_init() zeroes it. */
struct play_filter {
	unsigned char state;      /* where in an escape sequence (play.c) */
	unsigned char u8_len;     /* bytes held in u8[] */
	unsigned char u8_need;    /* bytes of the character in u8[] */
	unsigned char csi_len;    /* bytes held in csi[] */
	unsigned modes;           /* terminal modes the output changed (play.c) */
	unsigned char u8[4];
	unsigned char csi[PLAY_CSI_MAX_BYTES];
};

void play_filter_init(struct play_filter *f);

/* Filter in[0..n) and append the safe bytes to out (capacity outcap, at
 * least PLAY_FILTER_OUT_BYTES(n)); returns the number of bytes written.
 * Passes printable ASCII, well-formed UTF-8, CR, LF, TAB, BS, CSI sequences
 * that only draw (no queries, window operations, keyboard or mouse
 * reporting), ESC 7 8 M = > and ESC ( B / ESC ( 0 / ESC ) B / ESC ) 0.
 * Drops OSC, DCS, APC, PM and SOS strings, other C0 controls, DEL, C1
 * controls raw or encoded, bidirectional controls, and a CSI longer than
 * PLAY_CSI_MAX_BYTES; a bad UTF-8 sequence becomes U+FFFD. A sequence
 * never comes out in part: should out be too small it is dropped whole. */
size_t play_filter(struct play_filter *f, const char *in, size_t n, char *out,
                   size_t outcap);

/* End of the stream: a character left unfinished becomes U+FFFD, an escape
 * sequence left unfinished is dropped, and what the output changed is put
 * back: SGR reset, cursor shown, normal screen, full scroll region, normal
 * cursor keys and keypad. Writes at most PLAY_FILTER_END_BYTES to out and
 * leaves f as play_filter_init does. */
size_t play_filter_end(struct play_filter *f, char *out, size_t outcap);

#endif

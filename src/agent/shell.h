/* shell.h: a granted session's shell on a PTY, recorded as asciicast v2.
 *
 * The agent's monitor starts the shell (monitor.h, spawn.h): as
 * support_user when the agent runs as root, else in namespaces that hide
 * the agent's folders, with a clean environment (TERM, HOME, PATH, SHELL,
 * USER, LOGNAME, TETHER_SESSION). Its output, and only
 * its output, is written to recordings_dir/SESSION-CHANNEL.cast (0600):
 * a header line, then one [seconds, "o", "text"] event per read and an
 * [seconds, "r", "COLSxROWS"] event per window change. Typed input is not
 * recorded (it would hold passwords typed at prompts that do not echo).
 *
 * When the device has a patient-data refusal list and the ticket lacks
 * patient_records, the shell is started in new mount and PID namespaces
 * with every refused directory (shell_hide_list, the rule SFTP applies
 * too) covered by an empty
 * read-only tmpfs and every refused file by /dev/null, and a fresh /proc
 * (spawn.h says how the covers are locked). When that is impossible here,
 * or the shell cannot be kept apart from the agent, shell_start fails with
 * TE_ERR_DENIED: the caller refuses the shell rather than run it open. */
#ifndef TETHER_SHELL_H
#define TETHER_SHELL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agentconf.h"
#include "pdmatch.h"
#include "secret.h"

#define SHELL_TERM_BYTES     64
#define SHELL_MAX_HIDE       PDMATCH_MAX_COVER  /* paths the cover mounts over */
#define SHELL_COVER_REFUSED  "patient data cannot be hidden from a shell on this device"
#define SHELL_DEFAULT_COLS   80
#define SHELL_DEFAULT_ROWS   24

struct shell_spec {
	const char *session;         /* session id (recording name, title) */
	unsigned int channel;        /* channel sequence number in the connection */
	int64_t conn;                /* the connection of the session (ticket cn) */
	const char *term;            /* from pty-req; NULL: "dumb" */
	unsigned int cols, rows;     /* 0: the defaults */
	const char *command;         /* exec request: shell -c command; NULL: login shell */
	int hide_patient;            /* cover the refusal list (see above) */
};

struct shell;

/* One path the cover hides: a directory (tmpfs) or a file (/dev/null). */
struct shell_hide {
	char path[AGENT_PATH_BYTES];
	int dir;
};

/* What the cover hides: pdmatch's rule (the one SFTP applies), walked under
 * each pattern's fixed prefix within the PDMATCH_MAX_* bounds, plus the
 * other names of refused files found there and in the files.* folders; at
 * most SHELL_MAX_HIDE paths, into *out (free it). Any bound hit is
 * TE_ERR_DENIED with why set: the shell is refused rather than run with
 * something left uncovered. */
int shell_hide_list(const struct agent_conf *conf, struct shell_hide **out,
                    size_t *nout, char *why, size_t whysz);

/* Start the shell and open its recording. On TE_ERR_DENIED (patient data
 * cannot be hidden) or any other error, why says what failed. */
int shell_start(const struct agent_conf *conf, const struct shell_spec *spec,
                struct shell **out, char *why, size_t whysz);
/* The recording's path. */
const char *shell_recording(const struct shell *sh);
/* The PTY master (non-blocking), to poll and to write the client's input to. */
int shell_fd(const struct shell *sh);
/* Record len bytes the shell wrote (already sent to the client). */
int shell_record(struct shell *sh, const void *data, size_t len);
/* Window change: resize the PTY and record an "r" event. */
int shell_resize(struct shell *sh, unsigned int cols, unsigned int rows);
/* Has the shell exited? Reaps it (non-blocking); 1 yes, 0 not yet. */
int shell_exited(struct shell *sh);

struct shell_result {
	char recording[AGENT_PATH_BYTES];
	char sha256[SHA256_HEX_BYTES];   /* of the .cast file as written */
	unsigned long long bytes;         /* output bytes recorded */
	int exit_status;                  /* exit code, 128+signal, -1 unknown */
};

/* End the shell (SIGHUP to its group, then SIGKILL if it is still there),
 * reap it, close the recording, fill res and free sh. */
void shell_finish(struct shell *sh, struct shell_result *res);

/* Append to out (size outsz, NUL-terminated) the JSON string body of
 * len bytes of terminal output: '"', '\\' and control characters escaped,
 * invalid UTF-8 replaced with U+FFFD. An incomplete UTF-8 sequence at the
 * very end is left out: *used says how many input bytes were taken (the
 * rest belongs to the next event). Returns the output length, or 0 with
 * *used 0 when out is too small. Pure. */
size_t shell_json_escape(const unsigned char *in, size_t len, char *out,
                         size_t outsz, size_t *used);

#endif

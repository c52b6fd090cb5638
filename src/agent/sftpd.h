/* sftpd.h: the agent's SFTP server engine (protocol version 3,
 * draft-ietf-secsh-filexfer-02, what OpenSSH's sftp client speaks).
 *
 * Pure and event-driven: no sockets. Its driver feeds it the bytes of an
 * "sftp" subsystem channel with sftpd_input() and sends what sftpd_output()
 * returns, then sftpd_consume()s what was sent. The agent runs it in its
 * own process, `tether-agent sftp-server` (sftpchild.h), on stdin/stdout;
 * the note below is how any other driver (a libssh channel) would do it. Every packet, handle count,
 * read length and the output queue are bounded (MAX_SFTP_* in bounds.h).
 *
 * Named areas. With names, the client sees a virtual "/" holding one
 * directory per area, as the config names it (files.logs = /var/log/dev is
 * "/logs"): it is where the client starts and where relative paths begin,
 * it is read-only, and REALPATH answers in these names. A path whose first
 * component is an area's name is in that area (/logs/a.txt is
 * /var/log/dev/a.txt); any other absolute path is the device's own and is
 * served as before, only inside the roots. The audit trail always has the
 * device's real paths. A name that is empty, ".", "..", holds a "/" or is
 * longer than NAME_MAX is not listed (its root is still reachable by its
 * real path). Without names, relative paths begin at the first root.
 *
 * Files are served only inside the policy's allowlisted roots: every path is
 * resolved to its real path (the parent's for a file being created) and must
 * lie inside a root, component-wise; the file is then reached by walking
 * that real path from "/" with openat(O_NOFOLLOW) on every component, so a
 * link swapped in after the check makes the open fail. Paths matching a
 * refusal pattern (patient data) are refused unless patient_ok. Writes need
 * write_ok. Every refusal answers a STATUS with a readable message and is
 * audited ("file_refused"); every file transferred is audited at CLOSE (or
 * at sftpd_free for handles left open) as "file_read"/"file_write" with the
 * file's path, bytes moved, size and SHA-256.
 *
 * NOTE FOR D2 (SSH layer), how to drive it from a libssh channel:
 *   data callback:  if (!sftpd_wants_input(s)) return 0;   (libssh keeps the
 *                   bytes and stops growing the window)
 *                   rc = sftpd_input(s, data, len); return len;
 *                   rc != 0: send what sftpd_output() still holds, then close.
 *   after each poll: n = sftpd_output(s, &p); write at most
 *                   ssh_channel_window_size() of it (non-blocking), then
 *                   sftpd_consume(s, written). consume resumes requests held
 *                   back while the queue was full.
 *   when sftpd_wants_input() turns 1 again: pull what libssh held back with
 *                   ssh_channel_read_nonblocking() and feed it (the callback
 *                   only fires on new data), and call sftpd_input(s, NULL, 0)
 *                   to learn of a sticky error found during consume.
 *   channel EOF/close: sftpd_free(s) (audits files left open; the audit
 *                   callback and its arg must still be valid then).
 * The pointer from sftpd_output() is valid until the next call into the
 * engine. One chunk passed to sftpd_input() may be up to
 * MAX_SFTP_INPUT_BYTES minus what is buffered (well above libssh's window);
 * beyond that it is TE_ERR_TOO_LONG.
 */
#ifndef TETHER_SFTPD_H
#define TETHER_SFTPD_H

#include <stddef.h>

#include <jansson.h>

struct sftpd;

struct sftpd_policy {
	const char *const *roots; size_t nroots;   /* allowlisted directories, absolute */
	const char *const *names;  /* NULL, or the area name of each root
	                              (files.NAME): see "Named areas" below */
	const char *const *refuse; size_t nrefuse; /* patient-data patterns (pdmatch.h:
	                                              absolute; a pattern naming a
	                                              directory covers everything under it) */
	int write_ok;     /* ticket grants files:write */
	int patient_ok;   /* ticket grants patient_records: refusal list lifted */
	int casefold;     /* patient_data_case = insensitive */
};

/* Called for every decision and transfer. action and detail:
 *   file_read    {"path","bytes" (sent),"size","sha256"}   at CLOSE / free
 *   file_write   {"path","bytes" (written),"size","sha256"[,"bytes_read"]}
 *   file_refused {"path","op","reason"}  reason: "outside allowlist",
 *                "patient data", "hard link to patient data" (another name
 *                of a refused file), "holds patient data" (a rename, remove
 *                or rmdir of a directory above refused paths),
 *                "read-only session", "allowlisted root", "symbolic link"
 *   file_remove, dir_create, dir_remove {"path"};  file_rename {"path","to"}
 * size/sha256 are of the file on disk at close (null if it could not be
 * read). detail is a new reference the callee steals (must json_decref it). */
typedef void (*sftpd_audit_fn)(void *arg, const char *action, json_t *detail);

/* The policy's strings are copied; audit may be NULL. A root that does not
 * exist (or is not a directory) is logged and skipped; the first existing
 * root is where "." and relative paths resolve. Refusal patterns follow
 * pdmatch.h (the shell's cover uses the same rule): "*" also matches "/",
 * so "/D/STAR.dcm" refuses every .dcm file under /D at any depth; a trailing
 * "/" is ignored. Unless patient_ok, the trees under the patterns are
 * scanned once here for refused files with several links (a scan past its
 * bound is logged, and then every file with several links is refused). 0,
 * TE_ERR_INVALID (a relative root, a bad pattern) or TE_ERR_NOMEM. */
int sftpd_new(const struct sftpd_policy *pol, sftpd_audit_fn audit, void *arg,
              struct sftpd **out);

/* 1 when name may be an area's name in the virtual root (named areas). */
int sftpd_area_name_ok(const char *name);

/* Feed bytes from the client. 0, or TE_ERR_PROTOCOL / TE_ERR_TOO_LONG when
 * the channel must be closed (a STATUS may still be queued: send it first). */
int sftpd_input(struct sftpd *s, const void *data, size_t len);

/* Bytes to send to the client: pointer and length (0 when none); then
 * consume what was sent. */
size_t sftpd_output(struct sftpd *s, const void **data);
void sftpd_consume(struct sftpd *s, size_t n);

/* 0 when the output queue is over its bound: stop reading the channel until
 * it drains (sftpd_consume). 1 once the engine has failed, so the caller
 * calls sftpd_input() and learns the error. */
int sftpd_wants_input(const struct sftpd *s);

/* Close open handles (auditing transfers still open) and free. NULL is a
 * no-op. */
void sftpd_free(struct sftpd *s);

#endif

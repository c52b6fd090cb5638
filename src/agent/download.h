/* download.h: fetch one repository target into a file, resumably (issue 10,
 * section 3; docs/updates.md).
 *
 * A blocking HTTPS GET in the update worker (update.h), on its own
 * connection (through the agent's proxy when one is set): the server's
 * certificate checked against the pinned deployment CA, no client
 * certificate. The file's bytes so far are kept; the request asks for the
 * rest with a Range header, and a server that answers with the whole file
 * (200) starts it again. Never more than the declared length is written:
 * a body that goes on past it is the "endless data" attack, refused. The
 * rate is capped when asked, the transfer as a whole is bounded in time
 * (DOWNLOAD_STALL_S without a byte ends it), and the file is fsynced
 * before a success is returned. The file's SHA-256 is computed on the way
 * (the bytes kept from before read once first), so checking it against the
 * signed one needs no second pass over the file. */
#ifndef TETHER_AGENT_DOWNLOAD_H
#define TETHER_AGENT_DOWNLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define DOWNLOAD_STALL_S     60        /* no byte for this long: give up */
#define DOWNLOAD_CHUNK_BYTES (256 * 1024)
#define DOWNLOAD_MAX_BYTES   ((int64_t)1 << 40)

struct download {
	SSL_CTX *ctx;               /* the deployment CA pinned */
	const char *server;         /* https://host:port */
	const char *proxy;          /* NULL: direct */
	const char *path;           /* /repo/targets/... (already safe) */
	int fd;                     /* the part file, read-write; its size is what is held */
	int64_t length;             /* the declared length */
	long rate;                  /* bytes per second; 0: no cap */
	/* called now and then with the bytes held (may be NULL) */
	void (*progress)(void *arg, int64_t held);
	void *arg;
};

/* Fetch the rest of the file. 0 when the file holds exactly length bytes,
 * their SHA-256 (hex) in sha;
 * TE_ERR_TOO_LONG when the server sends or announces more than declared
 * (the file is emptied: a server that lies about one thing has no bytes
 * worth keeping); other te_errs with why set for a failure worth trying again
 * later (the bytes so far are kept). */
int download_run(const struct download *d, char sha[65], char *why, size_t whysz);

#endif

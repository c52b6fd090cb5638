/* spawnmsg.h: the messages between the agent's network part and its
 * monitor (monitor.h), and between a spawn's keeper and the worker that
 * asked for it.
 *
 * Both travel on SOCK_SEQPACKET sockets, so one send is one message and a
 * reader sees its exact size. Every field is bounded (SPAWN_*), integers
 * are big-endian, strings are a u16 length and bytes without NUL. A
 * message that does not decode exactly (an unknown type, a bad size, a
 * field past its bound, bytes left over) is refused whole.
 *
 *   request  u32 type=1, u32 kind, u32 flags, u32 nfds, u32 argc,
 *            str term, str session, argc x str arg
 *   status   u32 type (2 started, 3 failed, 4 exited), i32 value
 *            (pid, a SPAWN_FAIL_* code, or the exit status), str text */
#ifndef TETHER_SPAWNMSG_H
#define TETHER_SPAWNMSG_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

/* sftp-server's argv carries every files.* root with its flag and name and
 * every patient_data.* entry with a flag (up to 117 words of up to a path
 * each; SPAWN_MSG_MAX_BYTES bounds their total). */
#define SPAWN_MAX_ARGS       128     /* program and arguments */
#define SPAWN_MAX_ARG_BYTES  1024    /* one argument, NUL included */
#define SPAWN_MAX_FDS        4       /* child fds 0..3 */
#define SPAWN_TERM_BYTES     64
#define SPAWN_TEXT_BYTES     256     /* a failure's reason */
#define SPAWN_MSG_MAX_BYTES  (64 * 1024)

enum spawn_kind {
	SPAWN_KIND_SHELL = 1,        /* conf->shell, argv from the worker */
	SPAWN_KIND_DIAG = 2,         /* a configured diag.NAME argv */
	SPAWN_KIND_SFTP = 3,         /* tether-agent sftp-server (fd 3 audit) */
	SPAWN_KIND_STATUS = 4,       /* the configured status.command argv */
	SPAWN_KIND_COLLECT = 5,      /* tether-agent collect-read NAME (covered) */
	SPAWN_KIND_CONFIG = 6,       /* a configured config.NAME argv, values on stdin */
	SPAWN_KIND_UPDATE = 7,       /* tether-agent update fetch COMPONENT TARGET (agent's user) */
	SPAWN_KIND_INSTALL = 8,      /* install.command HEX, install.health, install.rollback (root) */
};

#define SPAWN_F_PTY    1u        /* fds[0] is a PTY slave: fds 0-2, ctty */
#define SPAWN_F_COVER  2u        /* cover the patient-data refusal list */
#define SPAWN_F_ALL    (SPAWN_F_PTY | SPAWN_F_COVER)

enum spawn_msg_type {
	SPAWN_MSG_REQUEST = 1,
	SPAWN_MSG_STARTED = 2,
	SPAWN_MSG_FAILED = 3,
	SPAWN_MSG_EXITED = 4,
};

/* Why a spawn did not start (SPAWN_MSG_FAILED's value). */
enum spawn_fail {
	SPAWN_FAIL_REFUSED = 1,      /* the request is not allowed */
	SPAWN_FAIL_ISOLATE = 2,      /* the cover or isolation cannot be set up */
	SPAWN_FAIL_EXEC = 3,         /* the program could not be started */
	SPAWN_FAIL_SYS = 4,          /* fork, socket, ... */
};

struct spawn_req {
	uint32_t kind;               /* enum spawn_kind */
	uint32_t flags;              /* SPAWN_F_* */
	uint32_t nfds;               /* 1..SPAWN_MAX_FDS, passed with SCM_RIGHTS */
	uint32_t argc;               /* 1..SPAWN_MAX_ARGS */
	char term[SPAWN_TERM_BYTES];
	char session[MAX_NAME_BYTES];
	char argv[SPAWN_MAX_ARGS][SPAWN_MAX_ARG_BYTES];
};

struct spawn_status {
	uint32_t type;               /* STARTED, FAILED or EXITED */
	int32_t value;
	char text[SPAWN_TEXT_BYTES];
};

/* Encode into out (outsz >= SPAWN_MSG_MAX_BYTES is always enough); the
 * length, or a negative TE_ERR_* when a field breaks its bound. */
int spawnmsg_encode_req(const struct spawn_req *req, uint8_t *out, size_t outsz);
int spawnmsg_decode_req(const uint8_t *buf, size_t len, struct spawn_req *req);
int spawnmsg_encode_status(const struct spawn_status *st, uint8_t *out, size_t outsz);
int spawnmsg_decode_status(const uint8_t *buf, size_t len, struct spawn_status *st);

#endif

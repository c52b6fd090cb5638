/* castfile.h: a session's shell recordings on their way from the device to
 * the server and on to the viewer (`tether play`).
 *
 * A recording is an asciicast v2 file the agent wrote as
 * recordings_dir/SESSION-CHANNEL.cast (a visit's later connection C:
 * SESSION-cC-CHANNEL.cast). It travels in chunks of at most
 * CASTFILE_CHUNK_BYTES, base64url in a JSON body (so a chunk stays well under
 * MAX_HTTP_BODY_BYTES), each appended at the offset the receiver already
 * holds, and the whole file is checked against its SHA-256 at the end: a
 * transfer cut anywhere resumes where it stopped, and a file is never kept
 * half or wrong. The name is checked on every side before it becomes a path. */
#ifndef TETHER_CASTFILE_H
#define TETHER_CASTFILE_H

#include <stddef.h>
#include <stdint.h>

#define CASTFILE_CHUNK_BYTES (128 * 1024)
#define CASTFILE_MAX_BYTES   (64LL * 1024 * 1024)  /* the default per-file cap */
#define CASTFILE_NAME_BYTES  128
#define CASTFILE_SUFFIX      ".cast"

/* 1 when name is a recording of session: "SESSION-N.cast" or
 * "SESSION-cC-N.cast" with decimal C and N, shorter than
 * CASTFILE_NAME_BYTES. Nothing else (no "/", no "..") can pass. */
int castfile_name_ok(const char *session, const char *name);

/* The size and SHA-256 (hex) of what fd holds, read from offset 0 with
 * pread. 0, TE_ERR_IO (errno says why) or TE_ERR_CRYPTO. */
int castfile_sha256_fd(int fd, uint64_t *size, char hex[65]);

#endif

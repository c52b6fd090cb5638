/* support.h: the device support account checked by the embedded SSH server.
 * Only the argon2id hash is stored (state_dir/support.hash, 0600). Wrong
 * passwords in a row are kept in state_dir/support.failures (supportlock.h,
 * replaced whole with file_replace, under state_dir/support.lock's flock):
 * after support_max_failures the account locks for support_lock_base_s,
 * doubling with each further failure up to support_lock_max_s, and unlocks
 * by itself; `support-password` clears it early.
 *
 * What counts as an attempt: a non-empty password for the support user,
 * while the account is not locked. An empty password (what OpenSSH sends
 * when it has no terminal to ask on), an attempt while locked, and other
 * methods ("none", public keys) are refused without counting. */
#ifndef TETHER_SUPPORT_H
#define TETHER_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "agentconf.h"

/* What one support_verify did, for the caller's audit record. */
struct support_attempt {
	int counted;          /* 1: this attempt counted as a failure */
	long failures;        /* wrong passwords in a row after it */
	long lock_s;          /* the lock this attempt started (0: none) */
	long remaining_s;     /* refused unchecked: the lock left to run */
	int64_t until;        /* the end of the lock in force, if any */
};

/* Hash password and store it (0600); clears the lockout. */
int support_store(const struct agent_conf *conf, const char *password);
/* 0 on success (clears the lockout); TE_ERR_DENIED on a wrong or empty
 * password (a->counted says whether it counted); TE_ERR_LOCKED when locked,
 * before this try (not checked, not counted) or because of it (a->lock_s).
 * a may be NULL. */
int support_verify(const struct agent_conf *conf, const char *password,
                   struct support_attempt *a);
/* The same at a given time (tests). */
int support_verify_at(const struct agent_conf *conf, const char *password,
                      int64_t now, struct support_attempt *a);
/* Wrong passwords in a row and the seconds the lock has left at now
 * (0: not locked); either pointer may be NULL. */
int support_status(const struct agent_conf *conf, int64_t now, long *failures,
                   long *remaining_s);
/* Current failure count (0 when none recorded), or a te_err. */
int support_failures(const struct agent_conf *conf);
/* A random password for enrollment without --support-password-file. */
int support_generate(char *out, size_t outsz);
/* Read one line (newline stripped) from a file descriptor; bounded. */
int support_read_password(int fd, char *out, size_t outsz);

/* `support-password` options. */
#define SUPPORT_CMD_STATUS   1     /* print the lockout state, change nothing */
#define SUPPORT_CMD_GENERATE 2     /* make a random password, print it once */
/* `support-password`: a new password (stdin, or --generate), audited. */
int support_cmd_password(const struct agent_conf *conf, int flags);
/* Its --help text. */
void support_cmd_usage(FILE *f);

#endif

/* admin_int.h: what the offline administration files (admin.c and the
 * admin_*.c files beside it) share. Private to them: main.c uses admin.h. */
#ifndef TETHER_SERVER_ADMIN_INT_H
#define TETHER_SERVER_ADMIN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "srvconf.h"
#include "store.h"

/* Who the audit trail names for the offline administration commands. */
#define ADMIN_ACTOR "admin"

/* "tether-server: <message>" on stderr. */
void admin_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The code on stdout alone, what to do with it on stderr. */
void admin_print_code(const char *user, const char *shown, int64_t expires_at);
/* 0 when s, the value of option opt of command cmd, is non-empty text an
 * operator may read (lib text.h) shorter than max; else says which option
 * and what is wrong on stderr and returns -1. */
int admin_text_check(const char *cmd, const char *opt, const char *s, size_t max);
/* Load the deployment in dir into *cfg and open its store; says what to do
 * on failure. */
int admin_open(const char *dir, struct srvconf *cfg, struct store **st);

/* 0 when product may be used by cmd: it is a registered product family,
 * or no family is registered yet (a deployment from before the registry;
 * a note says how to start it). Else says which families exist and -1. */
int admin_product_check(struct store *st, const char *cmd, const char *product);

#endif

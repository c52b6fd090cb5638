/* audit_int.h: shared by audit.c and auditlog.c only. */
#ifndef TETHER_AUDIT_INT_H
#define TETHER_AUDIT_INT_H

#include <stdint.h>

#include "audit.h"

/* Mark v failed at seq with "record SEQ: what"; returns TE_ERR_CHAIN. */
int audit_verifier_fail(struct audit_verifier *v, int64_t seq, const char *what);

#endif

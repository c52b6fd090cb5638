/* fuzz_audit_line.c: audit_parse_line on one file line, then the verifier. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verifier v;
	struct audit_record rec;
	char *buf;

	/* An exact-size heap copy, so any read past the line is caught. */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	if (audit_parse_line(buf, size, &rec) == 0) {
		audit_verifier_init(&v);
		(void)audit_verifier_feed(&v, &rec);
	}
	free(buf);
	return 0;
}

/* fuzz_sftp_audit_line.c: the worker's parser of the SFTP child's audit
 * lines (untrusted: the child may be compromised). */
#include <stddef.h>
#include <stdint.h>

#include "sftpchild.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char action[SFTPCHILD_ACTION_BYTES];
	json_t *detail = NULL;

	if (sftpchild_audit_line((const char *)data, size, action, &detail) == 0)
		json_decref(detail);
	return 0;
}

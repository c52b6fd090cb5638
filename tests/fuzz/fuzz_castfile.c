/* fuzz_castfile.c: castfile_name_ok, the check a recording's name passes on
 * the server (from the device) and in the CLI (from the server) before it
 * becomes part of a path. Input: SESSION '\n' NAME. Whatever it accepts
 * must be one plain file name under the session: no '/', no "..", the
 * session's prefix and the .cast suffix. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "castfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[512], *nl;
	size_t sl;

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if ((nl = strchr(buf, '\n')) == NULL)
		return 0;
	*nl = '\0';
	if (!castfile_name_ok(buf, nl + 1))
		return 0;
	sl = strlen(buf);
	if (strchr(nl + 1, '/') != NULL || strstr(nl + 1, "..") != NULL ||
	    strncmp(nl + 1, buf, sl) != 0 || strlen(nl + 1) >= CASTFILE_NAME_BYTES ||
	    strcmp(nl + 1 + strlen(nl + 1) - strlen(CASTFILE_SUFFIX), CASTFILE_SUFFIX) != 0)
		__builtin_trap();
	return 0;
}

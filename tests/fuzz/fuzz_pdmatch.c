/* fuzz_pdmatch.c: patient-data patterns (config-derived) compiled and
 * matched. Input: a pattern, a newline, the paths to check (one a line). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pdmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *pat, *line, *save = NULL;
	const char *pats[1];
	char why[PDMATCH_WHY_BYTES];
	struct pdmatch *m = NULL;

	if (size > 8192 || (text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	pat = strtok_r(text, "\n", &save);
	if (pat != NULL && pdmatch_new((pats[0] = pat, pats), 1, size & 1, &m, why,
	                               sizeof(why)) == 0) {
		while ((line = strtok_r(NULL, "\n", &save)) != NULL)
			(void)pdmatch_refused(m, line);
		pdmatch_free(m);
	}
	free(text);
	return 0;
}

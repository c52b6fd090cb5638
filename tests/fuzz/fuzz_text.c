/* fuzz_text.c: text that reaches an operator (src/lib/text.c). Besides not
 * crashing, the escaper's output must always pass the checker, and text the
 * checker accepts must come out unchanged unless it holds a backslash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *out;
	size_t outsz;
	int ok;

	if (size > 4096 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	outsz = TEXT_ESCAPED_BYTES(strlen(s));
	if ((out = malloc(outsz)) == NULL) {
		free(s);
		return 0;
	}
	ok = text_check_display(s, size + 1, NULL) == 0;
	text_escape_display(s, out, outsz);
	if (text_check_display(out, outsz, NULL) != 0)
		abort();
	if (ok && strchr(s, '\\') == NULL && strcmp(s, out) != 0)
		abort();
	/* a short buffer truncates at a whole character, still displayable */
	text_escape_display(s, out, 1 + size % 16);
	if (text_check_display(out, outsz, NULL) != 0)
		abort();
	free(out);
	free(s);
	return 0;
}

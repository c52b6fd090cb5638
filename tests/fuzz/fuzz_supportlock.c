/* fuzz_supportlock.c: the support account's lockout record as read from
 * state_dir/support.failures (src/agent/supportlock.c), and the arithmetic
 * on whatever it parsed to. */
#include <stddef.h>
#include <stdint.h>

#include "supportlock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct supportlock_policy p = { 5, 60, 3600 };
	struct supportlock l;
	char buf[SUPPORTLOCK_TEXT_BYTES];

	if (supportlock_parse((const char *)data, size, &l) != 0)
		return 0;
	(void)supportlock_remaining(&p, &l, 1700000000);
	supportlock_fail(&p, &l, 1700000000);
	(void)supportlock_format(&l, buf, sizeof(buf));
	return 0;
}

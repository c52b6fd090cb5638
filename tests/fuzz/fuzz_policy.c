/* fuzz_policy.c: policy_parse, then every decision on whatever it accepts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const perms[] = {
		"shell", "forward:http", "files:read", "diag:status", "session:request", NULL
	};
	struct policy *p = NULL;
	char err[512], why[256];
	json_t *j;

	if (policy_parse((const char *)data, size, "fuzz.conf", &p, err, sizeof(err)) != 0)
		return 0;
	for (int l = 0; l <= 3; l++)
		for (size_t i = 0; perms[i] != NULL; i++)
			(void)policy_allows(p, "specialist", l, perms[i]);
	(void)policy_region_check(policy_region_rule(p, "CA"), "CA", 3, 1, why, sizeof(why));
	(void)policy_region_check(policy_region_rule(p, "ZZ"), "ZZ", 1, 0, why, sizeof(why));
	j = policy_json(p);
	json_decref(j);
	policy_free(p);
	return 0;
}

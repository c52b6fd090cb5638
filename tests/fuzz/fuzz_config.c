/* fuzz_config.c: config_parse and the getters on whatever it accepts. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

static void fuzz_visit(const char *key, const char *value, void *arg)
{
	(void)key;
	(void)value;
	(*(size_t *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"server", "serial", "state_dir", "consent_timeout_s", "longpoll", "proxy",
		"user", "service.", NULL
	};
	struct config *cfg = NULL;
	char err[256];
	size_t seen = 0;
	long v;

	if (config_parse((const char *)data, size, "fuzz.conf", keys, &cfg, err,
	                 sizeof(err)) != 0)
		return 0;
	(void)config_get(cfg, "server", NULL);
	(void)config_get_int(cfg, "consent_timeout_s", 120, 1, 3600, &v, err, sizeof(err));
	(void)config_each_prefix(cfg, "service.", fuzz_visit, &seen);
	config_free(cfg);
	return 0;
}

/* metrics.c: Prometheus text exposition lines. */
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void metrics_family(struct evbuffer *out, const char *name, const char *type,
                    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format wants it: '\', '"' and newline escaped. */
static void metrics_label_value(struct evbuffer *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add(out, "\\", 1);
		if (*v == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, v, 1);
	}
}

void metrics_sample(struct evbuffer *out, const char *name, const char *label,
                    const char *value, uint64_t v)
{
	evbuffer_add(out, name, strlen(name));
	if (label != NULL && value != NULL) {
		evbuffer_add_printf(out, "{%s=\"", label);
		metrics_label_value(out, value);
		evbuffer_add(out, "\"}", 2);
	}
	evbuffer_add_printf(out, " %" PRIu64 "\n", v);
}

void metrics_one(struct evbuffer *out, const char *name, const char *type,
                 const char *help, uint64_t v)
{
	metrics_family(out, name, type, help);
	metrics_sample(out, name, NULL, NULL, v);
}

/* metrics.h: the Prometheus text exposition format (version 0.0.4), written
 * into an evbuffer: a family's "# HELP" and "# TYPE" lines once, then its
 * samples. Names are the caller's constants; label values are escaped. */
#ifndef TETHER_METRICS_H
#define TETHER_METRICS_H

#include <stdint.h>

#include <event2/buffer.h>

#define METRICS_COUNTER "counter"
#define METRICS_GAUGE   "gauge"

/* "# HELP name help" and "# TYPE name type". */
void metrics_family(struct evbuffer *out, const char *name, const char *type,
                    const char *help);
/* "name v" or, with label, "name{label=\"value\"} v". */
void metrics_sample(struct evbuffer *out, const char *name, const char *label,
                    const char *value, uint64_t v);
/* A family with one unlabelled sample. */
void metrics_one(struct evbuffer *out, const char *name, const char *type,
                 const char *help, uint64_t v);

#endif

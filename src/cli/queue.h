/* queue.h: `tether queue add|list|show|cancel|retry`, the maintenance
 * queue (docs/fleet.md). */
#ifndef TETHER_CLI_QUEUE_H
#define TETHER_CLI_QUEUE_H

#include <jansson.h>

#include "cliout.h"

int queue_main(const struct cli *cli, int argc, char **argv);

/* The fleet filters of `tether devices` a selection may use. */
struct queue_sel {
	const char *site, *product, *health, *error, *below, *not_seen;
};
/* As the API's "select" object (NULL, said, for a bad --not-seen). */
json_t *queue_select(const struct queue_sel *s);
/* Into req: "select" (sel's filters) when sel is not NULL, else "devices"
 * (the n serials, each checked; cmd names the command in a message). 0, or
 * -1 said. */
int queue_target_devices(json_t *req, const char *cmd, const struct queue_sel *sel,
                         const char *const *serials, size_t n);

#endif

/* devices.h: `tether devices`, and looking up one device for ssh/forward. */
#ifndef TETHER_CLI_DEVICES_H
#define TETHER_CLI_DEVICES_H

#include <stddef.h>
#include <jansson.h>

#include "api.h"
#include "cliout.h"

int devices_main(const struct cli *cli, int argc, char **argv);

/* GET /api/v1/devices/SERIAL; *out is the device object. Errors printed. */
int devices_get(struct api *a, const char *serial, json_t **out);

/* The port of the named service in a device object's "services" list.
 * TE_ERR_NOT_FOUND when the device has no such service. */
int devices_service_port(const json_t *dev, const char *name, int *port);
/* The device's service names, comma-separated, into out ("" when none). */
void devices_service_names(const json_t *dev, char *out, size_t outsz);

#endif

/* rollout.h: deployments of a release in waves (issue 10, section 5;
 * docs/updates.md, "Deployments").
 *
 * A deployment is a published release (a repository target) and a
 * selection of devices (serials, or the fleet filters of `tether devices`:
 * site, product, health, error, a component below a version, not seen),
 * split in waves by cumulative percentage (1, 10, 50, 100 by default).
 * Each wave's devices get an install activity of the maintenance queue, in
 * one batch per wave, so the site's change control, its windows and its
 * customer's approval apply to every install. When every activity of a
 * wave has ended, the next wave starts, unless the wave's failures
 * (failed, refused_by_device, interrupted) are more than max_failure_pct
 * of it: the deployment then halts by itself, audited, until a release
 * manager resumes or aborts it. It halts as soon as a wave's failures pass
 * the threshold, without waiting for the rest of the wave. Pausing holds
 * the next wave back; aborting also cancels the activities that have not
 * started.
 *
 * States: running, paused, halted, aborted, done. The plan and its
 * progress are one JSON body in the store (store_deployment_*). */
#ifndef TETHER_SERVER_ROLLOUT_H
#define TETHER_SERVER_ROLLOUT_H

#include "http.h"

#define ROLLOUT_MAX_WAVES      8
#define ROLLOUT_TICK_S         3          /* how often running deployments move on */
#define ROLLOUT_DEFAULT_FAIL   10         /* max_failure_pct when none is given */
#define ROLLOUT_LIST_MAX       200

struct server;

/* Move running deployments on (from the server's once-a-second sweep;
 * acts every ROLLOUT_TICK_S). */
void rollout_tick(struct server *srv);

void api_deployment_add(struct http_req *r);     /* POST /api/v1/deployments */
void api_deployments(struct http_req *r);        /* GET  /api/v1/deployments */
void api_deployment_get(struct http_req *r);     /* GET  /api/v1/deployments/ID */
void api_deployment_pause(struct http_req *r);   /* POST /api/v1/deployments/ID/pause */
void api_deployment_resume(struct http_req *r);  /* POST /api/v1/deployments/ID/resume */
void api_deployment_abort(struct http_req *r);   /* POST /api/v1/deployments/ID/abort */

/* Pure, for tests: how many of n devices waves 0..k cover (pct the
 * cumulative percentages, the last 100). */
size_t rollout_wave_end(const int *pct, size_t nwaves, size_t k, size_t n);

#endif

/* region.h: a user's region is an ISO 3166-1 alpha-2 code in upper case,
 * as policy.conf names regions (region.US). A lowercase "us" would match no
 * rule and lock the user out, so input is normalised or refused here. */
#ifndef TETHER_SERVER_REGION_H
#define TETHER_SERVER_REGION_H

#define REGION_CODE_BYTES 3

/* 0 with the code in upper case in out when in is an assigned alpha-2
 * code in either case; -1 (out "") otherwise. */
int region_normalise(const char *in, char out[REGION_CODE_BYTES]);

#endif

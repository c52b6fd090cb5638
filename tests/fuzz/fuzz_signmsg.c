/* fuzz_signmsg.c: the signer's message codec on arbitrary datagrams: the
 * header and bounds checks, then every typed decoder the type selects. */
#include <stddef.h>
#include <stdint.h>

#include "signmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum signmsg_type type;
	struct signmsg_rd rd;
	struct signmsg_ticket t;
	struct signmsg_totp_check c;
	char s1[MAX_NAME_BYTES], s2[MAX_PEM_BYTES + 1];
	uint8_t b[64];
	size_t n;

	if (signmsg_parse(data, size, &type, &rd) != 0)
		return 0;
	switch (type) {
	case SIGNMSG_TICKET: (void)signmsg_ticket_decode(&rd, &t); break;
	case SIGNMSG_TOTP_CHECK: (void)signmsg_totp_check_decode(&rd, &c); break;
	case SIGNMSG_CERT:
		signmsg_get_str(&rd, s1, sizeof(s1));
		signmsg_get_str(&rd, s2, sizeof(s2));
		break;
	case SIGNMSG_TOTP_NEW_OK:
		signmsg_get_bytes(&rd, b, sizeof(b), &n);
		signmsg_get_str(&rd, s2, sizeof(s2));
		break;
	case SIGNMSG_CHECKPOINT:
		(void)signmsg_get_u64(&rd);
		signmsg_get_str(&rd, s1, sizeof(s1));
		break;
	default:
		signmsg_get_str(&rd, s2, sizeof(s2));
		break;
	}
	(void)signmsg_done(&rd);
	return 0;
}

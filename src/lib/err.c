/* err.c: text for tether's error codes. */
#include "err.h"

const char *te_strerror(int err)
{
	switch (err) {
	case TE_OK: return "success";
	case TE_ERR_NOMEM: return "out of memory";
	case TE_ERR_INVALID: return "malformed input";
	case TE_ERR_TOO_LONG: return "input too long";
	case TE_ERR_TRUNCATED: return "input truncated";
	case TE_ERR_SYS: return "system call failed";
	case TE_ERR_CRYPTO: return "cryptographic operation failed";
	case TE_ERR_SIGNATURE: return "bad signature";
	case TE_ERR_EXPIRED: return "expired";
	case TE_ERR_MISMATCH: return "bound to something else";
	case TE_ERR_NOT_FOUND: return "not found";
	case TE_ERR_EXISTS: return "already exists";
	case TE_ERR_DENIED: return "permission denied";
	case TE_ERR_REPLAY: return "already used";
	case TE_ERR_CHAIN: return "audit chain broken";
	case TE_ERR_TIMEOUT: return "timed out";
	case TE_ERR_IO: return "I/O error";
	case TE_ERR_TLS: return "TLS failure";
	case TE_ERR_PROTOCOL: return "protocol violation";
	case TE_ERR_STORE: return "database failure";
	case TE_ERR_LOCKED: return "locked";
	default: return "unknown error";
	}
}

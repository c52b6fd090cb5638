/* bounds.h: every size and time limit in tether, in one place. */
#ifndef TETHER_BOUNDS_H
#define TETHER_BOUNDS_H

/* Wire and file sizes */
#define MAX_TICKET_BYTES        2048   /* encoded ticket text */
#define MAX_PREAMBLE_BYTES      4096   /* relay preamble line, including '\n' */
#define MAX_HTTP_BODY_BYTES     (256 * 1024) /* any API request or response body */
/* A device's raw upload chunk (PUT), taken only on a connection that has
 * already carried an authenticated device request (server http.c). */
#define MAX_HTTP_UPLOAD_BYTES   (4 * 1024 * 1024)
#define MAX_HTTP_HEADERS_BYTES  8192
#define MAX_CONFIG_LINE_BYTES   1024
#define MAX_CONFIG_FILE_BYTES   (64 * 1024)
#define MAX_CONFIG_ENTRIES      256
#define MAX_CONSENT_LINE_BYTES  512    /* one request on the consent socket */
#define MAX_AUDIT_LINE_BYTES    8192   /* one record in an audit log file */
#define MAX_CSR_BYTES           8192
#define MAX_PEM_BYTES           16384
#define MAX_NAME_BYTES          64     /* serials, user names, relay names */
#define MAX_REASON_BYTES        256
#define MAX_ACTIONS_BYTES       512    /* comma-separated granted actions */
#define MAX_SERVICES            16     /* allowlisted services on one device */
#define MAX_CHECKPOINT_BYTES    1024   /* one signed audit checkpoint as JSON text */
#define MAX_SIGNMSG_BYTES       (MAX_PEM_BYTES + 512) /* one message to or from the signer */

/* Times */
#define TICKET_TTL_S            60     /* a ticket must be used within this */
/* The server holds a ping this long by default (longpoll_s). Chosen for an
 * idle device's traffic: the agent keeps one TLS connection open and asks
 * again at once, so an idle hour is 3600 / LONGPOLL_HOLD_S exchanges of
 * about 1 KB. Anything pending answers the held ping at once, so a session
 * request waits no longer for it. */
#define LONGPOLL_HOLD_S         150
#define LONGPOLL_MAX_S          300    /* the most longpoll_s and "hold_s" may be */
/* Through an HTTP proxy the agent asks for this hold instead ("hold_s"):
 * proxies cut idle tunnels, often after a minute or two. */
#define LONGPOLL_PROXY_HOLD_S   25
/* After answering a held ping the server expects the next within this; a
 * device that does not ask again is offline then, not a period later. */
#define LONGPOLL_REPING_GRACE_S 15
/* The agent waits for an answer this much longer than the hold. */
#define LONGPOLL_MARGIN_S       15
#define SHORTPOLL_INTERVAL_S    30     /* agent's fallback poll period */
#define CONSENT_TIMEOUT_S       120    /* default; no answer means refusal */
#define CLOCK_SKEW_WARN_S       30     /* default; a device clock further off is warned about */
#define ENROLL_TOKEN_TTL_S      (24 * 3600)
#define API_TOKEN_TTL_S         3600   /* default token_ttl_s: a login lasts an hour */
#define API_TOKEN_IDLE_S        900    /* default token_idle_s: unused this long, refused */
#define LOGIN_RENEW_MAX_S       (8 * 3600) /* default login_renew_max_s: renewals with TOTP
                                            * alone, for this long after a password login */
#define SETUP_TOKEN_TTL_S       600    /* a setup-scope token (enroll TOTP, change password) */
#define ENROLL_CODE_TTL_S       (24 * 3600) /* default life of a user's one-time enrollment code */
#define ENROLL_CODE_MAX_TTL_S   (30 * 24 * 3600)
#define UNPAIRED_LEG_TIMEOUT_S  30     /* relay drops a lone leg after this */
#define SESSION_MAX_S           (4 * 3600)
#define HTTP_TIMEOUT_S          45     /* client side; longer than a long-poll */
#define BACKOFF_MIN_S           1
#define BACKOFF_MAX_S           60

/* Authentication */
#define SUPPORT_MAX_FAILURES    5      /* default support_max_failures: the device support
                                          account locks after this many in a row */
#define SUPPORT_LOCK_BASE_S     60     /* default support_lock_base_s: its first lock */
#define SUPPORT_LOCK_MAX_S      3600   /* default support_lock_max_s: its longest lock */
#define PASSWORD_MIN_CHARS      12
#define LOGIN_MAX_FAILURES      5      /* default login.max_failures (per user name) */
#define LOGIN_ADDR_MAX_FAILURES 20     /* default login.addr_max_failures (per address) */
#define LOGIN_LOCK_BASE_S       60     /* default login.lock_base_s: first lock */
#define LOGIN_LOCK_MAX_S        3600   /* default login.lock_max_s: longest lock */
#define RECOVERY_CODES          10     /* one-time codes given at TOTP enrollment */
#define RECOVERY_CODE_CHARS     16     /* letters and digits, shown in groups of 4 */

/* Relay */
#define RELAY_HIGH_WATER_BYTES  (256 * 1024) /* per direction, before pausing reads */

/* SFTP server engine on the agent (src/agent/sftpd.c) */
#define MAX_SFTP_PACKET_BYTES   (256 * 1024) /* one packet, including its 4-byte length */
#define MAX_SFTP_INPUT_BYTES    (2 * 1024 * 1024) /* client bytes buffered unprocessed
                                                     (above libssh's 1.28 MB channel window) */
#define MAX_SFTP_OUTPUT_BYTES   (512 * 1024) /* queued replies before input pauses */
#define MAX_SFTP_HANDLES        32     /* open files and directories per session */
#define MAX_SFTP_READ_BYTES     (64 * 1024) /* longest READ answered */
#define MAX_SFTP_READDIR_ENTRIES 64    /* names in one READDIR reply */
#define MAX_SFTP_AUDIT_LINE_BYTES 8192 /* one audit line from the SFTP child
                                          (sftpchild.h), without its '\n' */

#endif

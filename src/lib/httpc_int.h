/* httpc_int.h: the state of one httpc and the entry points of its CONNECT
 * tunnel path (httpc_tunnel.c), shared by httpc.c and httpc_tunnel.c only.
 * Not part of the library's interface: include httpc.h instead. */
#ifndef TETHER_HTTPC_INT_H
#define TETHER_HTTPC_INT_H

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "httpc.h"
#include "httpproxy.h"
#include "httpresp.h"

#define HTTPC_HOST_BYTES     256
#define HTTPC_PREFIX_BYTES   256
#define HTTPC_PATH_BYTES     2048
#define HTTPC_BEARER_BYTES   512
#define HTTPC_ERR_BYTES      256
#define HTTPC_CTYPE_BYTES    64

enum httpc_tun_stage {
	HTTPC_TUN_IDLE = 0,
	HTTPC_TUN_CONNECTING,   /* TCP to the proxy */
	HTTPC_TUN_PROXY_HEAD,   /* CONNECT sent, waiting for the proxy's answer */
	HTTPC_TUN_TLS,          /* TLS to the server inside the tunnel */
};

struct httpc {
	struct event_base *base;
	SSL_CTX *ctx;
	char host[HTTPC_HOST_BYTES];      /* for connect and the name check */
	char hosthdr[HTTPC_HOST_BYTES + 8];
	char prefix[HTTPC_PREFIX_BYTES];  /* path of the base URL, no trailing '/' */
	int port;
	int timeout_s;
	/* the request in flight */
	struct evhttp_connection *conn;
	struct bufferevent *bev;          /* owned by conn */
	int busy;
	int in_cb;
	enum evhttp_request_error req_err;
	int have_req_err;
	httpc_cb cb;
	void *arg;
	/* keep-alive (httpc_set_keepalive): the connection outlives a request */
	int keepalive;
	int conn_down;                    /* conn was closed by the peer or by evhttp */
	int conn_used;                    /* conn already carried a whole exchange */
	int retried;                      /* this request was sent again once */
	enum evhttp_cmd_type req_type;    /* the request, kept to send it again */
	char *req_path;
	char *req_bearer;                 /* wiped on free */
	char *req_body;                   /* wiped on free when owned */
	size_t req_bodylen;
	int req_body_owned;               /* 0: the caller's (httpc_borrow_bodies) */
	int borrow_bodies;
	char req_ctype[HTTPC_CTYPE_BYTES];
	unsigned long conns_opened;       /* connections made, for tests and benches */
	/* connections are freed outside their own callbacks */
	struct evhttp_connection *dead;
	struct event *reaper;
	/* the proxy path; proxy == NULL means direct */
	struct httpproxy *proxy;          /* holds the credentials; wiped on free */
	char proxydesc[HTTPPROXY_HOST_BYTES + 16];  /* host:port, for messages */
	struct bufferevent *tun;          /* socket to the proxy, then TLS over it */
	enum httpc_tun_stage tun_stage;
	struct httpresp_head tun_head;
	int tun_have_head;
	char *tun_req;                    /* the request, sent once TLS is set up */
	size_t tun_reqlen;
	struct event *tun_timer;
};

/* Wipe and free the parsed proxy (its credentials) and forget it. */
void httpc_proxy_free(struct httpc *h);
/* Drop the tunnel in flight, if any, without calling back. */
void httpc_tun_close(struct httpc *h);
/* h->tun_timer's callback: the tunnelled request took too long. */
void httpc_tun_timeout(evutil_socket_t fd, short what, void *arg);
/* Start a request through the proxy; the arguments are checked already
 * and full is the complete path. body (bodylen bytes of ctype) may be NULL. */
int httpc_tun_request(struct httpc *h, const char *method, const char *full,
                      const char *bearer, const char *ctype, const void *body,
                      size_t bodylen, httpc_cb cb, void *arg);

#endif

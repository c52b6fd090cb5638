/* fuzz_http_response.c: the HTTP response head parser (src/lib/httpresp.c)
 * that reads a proxy's CONNECT answer, the server's response inside a
 * proxy tunnel and a download's head (Content-Range); the Range request
 * parser the repository serves with; and the proxy URL parser on the same
 * bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "httpproxy.h"
#include "httpresp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpresp_head hd;
	struct httpproxy p;
	char req[HTTPPROXY_REQUEST_BYTES], *url;
	size_t n;

	/* Exactly size bytes, so ASan catches any read past the end. */
	if (httpresp_parse_head(data, size, &hd) == 0) {
		if (hd.head_len > size || hd.head_len > MAX_HTTP_HEADERS_BYTES ||
		    hd.status < 100 || hd.status > 599 ||
		    hd.content_length > MAX_HTTP_BODY_BYTES)
			abort();
	}
	if (httpresp_parse_head_max(data, size, 1LL << 40, &hd) == 0) {
		if (hd.head_len > size || hd.content_length > (1LL << 40) ||
		    hd.range_total > (1LL << 40) ||
		    (hd.range_first >= 0 && (hd.range_first > hd.range_last ||
		                             hd.range_last >= hd.range_total)))
			abort();
	}
	if (size < 1024 && (url = malloc(size + 1)) != NULL) {
		long long first, last, fsize = (long long)size * 1000;

		if (memchr(data, '\0', size) == NULL) {
			memcpy(url, data, size);
			url[size] = '\0';
			if (httpresp_range_request(url, fsize, &first, &last) == 0 &&
			    (first < 0 || first > last || last >= fsize))
				abort();
		}
		memcpy(url, data, size);
		url[size] = '\0';
		if (httpproxy_parse(url, &p) == 0) {
			(void)httpproxy_connect_request(&p, "server.example", "443", req,
			                                sizeof(req), &n);
			httpproxy_wipe(&p);
		}
		(void)httpproxy_no_proxy_match(url, "a.example.org");
		free(url);
	}
	return 0;
}

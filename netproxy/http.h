/* The HTTP side of the proxy: the first request head of a connection.
 *
 * CONNECT host:port HTTP/1.x opens a tunnel; any other method with an
 * absolute-form target (http://host[:port]/path) is forwarded: the request
 * line is rewritten to origin-form, the hop-by-hop headers Connection,
 * Keep-Alive, Proxy-Connection and Proxy-Authorization are dropped and
 * "Connection: close" added, so the server ends the exchange after one
 * response; the client's Host headers are dropped too and one made from the
 * target put in, so that the server is asked for the site the policy
 * checked and no other of the sites it may host.  Bytes after the head (a body, or whatever the client sends next)
 * go to the same destination unparsed: the policy is about where bytes go,
 * and that is decided once per connection.  Pure functions (test-netproxy). */
#ifndef EPHEMERA_NETPROXY_HTTP_H
#define EPHEMERA_NETPROXY_HTTP_H

#include "netproxy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NP_HTTP_HEAD_MAX 16384 /* larger heads get 431 */

struct np_http_req {
	bool connect;
	char host[NP_HOST_MAX + 1]; /* normalised (np_host_normalize) */
	uint16_t port;
	size_t head_len;	   /* bytes up to and including the empty line */
	size_t method_len;	   /* the method is at the start of the buffer */
	size_t path_off, path_len; /* origin-form path in the buffer ("/" if none) */
	size_t version_off;	   /* "HTTP/1.x" in the buffer (8 bytes) */
	size_t headers_off;	   /* first header line */
};

/* Length of the head (through CRLF CRLF) if buf holds all of it, else 0.
 * *scanned keeps where the search got to between calls (start it at 0). */
size_t np_http_head_end(const char *buf, size_t len, size_t *scanned);

/* Parses a complete head of head_len bytes.  0, or -EINVAL (400: malformed),
 * -EPROTONOSUPPORT (400: not http:// and not CONNECT). */
int np_http_parse(const char *buf, size_t head_len, struct np_http_req *ret);

/* The head to send upstream for a forwarded request; length, or -ENOBUFS. */
int np_http_rewrite(const char *buf, const struct np_http_req *req, char *out, size_t outsz);

/* A complete response with status code and reason: the rule in the
 * X-Ephemera-Rule header and in the body.  Length written (truncated to outsz). */
size_t np_http_response(char *out, size_t outsz, int code, const char *reason, const char *rule);

/* Splits "host:port", "[v6]:port" (or without port when default_port is not
 * 0) into a normalised host and a port.  0 or -EINVAL. */
int np_parse_authority(const char *s, size_t n, uint16_t default_port, char *host, size_t hostsz,
		       uint16_t *ret_port);

#endif

/* The SOCKS5 side of the proxy (RFC 1928): no authentication, CONNECT only;
 * a domain name is resolved by the proxy, outside (socks5h).  Pure
 * functions over the bytes received so far (test-netproxy). */
#ifndef EPHEMERA_NETPROXY_SOCKS_H
#define EPHEMERA_NETPROXY_SOCKS_H

#include "netproxy/policy.h"

#include <stddef.h>
#include <stdint.h>

/* Reply codes (RFC 1928 section 6). */
enum {
	NP_SOCKS_OK = 0,
	NP_SOCKS_FAILURE = 1,
	NP_SOCKS_NOT_ALLOWED = 2,
	NP_SOCKS_NET_UNREACHABLE = 3,
	NP_SOCKS_HOST_UNREACHABLE = 4,
	NP_SOCKS_REFUSED = 5,
	NP_SOCKS_CMD_UNSUPPORTED = 7,
	NP_SOCKS_ATYP_UNSUPPORTED = 8,
};

/* The greeting (VER NMETHODS METHODS...): bytes it takes when complete and
 * it offers "no authentication"; 0 when more bytes are needed; -EPROTO when
 * it is not SOCKS5, -EACCES when no method is acceptable (answer 05 FF). */
int np_socks_greeting(const uint8_t *buf, size_t len);

/* The request (VER CMD RSV ATYP ADDR PORT): bytes it takes when complete, 0
 * when more are needed, or -reply code (-NP_SOCKS_*) to answer with, or
 * -EPROTO... as -NP_SOCKS_FAILURE.  host is normalised. */
int np_socks_request(const uint8_t *buf, size_t len, char *host, size_t hostsz, uint16_t *ret_port);

/* The 10-byte reply with code rep (bound address 0.0.0.0:0). */
void np_socks_reply(uint8_t out[10], int rep);

#endif

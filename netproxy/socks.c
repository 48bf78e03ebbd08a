#include "netproxy/socks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int np_socks_greeting(const uint8_t *buf, size_t len)
{
	if (len < 1)
		return 0;
	if (buf[0] != 5)
		return -EPROTO;
	if (len < 2)
		return 0;
	size_t n = buf[1];
	if (n == 0)
		return -EPROTO;
	if (len < 2 + n)
		return 0;
	return memchr(buf + 2, 0, n) ? (int)(2 + n) : -EACCES;
}

int np_socks_request(const uint8_t *buf, size_t len, char *host, size_t hostsz, uint16_t *ret_port)
{
	if (len < 4)
		return 0;
	if (buf[0] != 5 || buf[2] != 0)
		return -NP_SOCKS_FAILURE;
	if (buf[1] != 1)
		return -NP_SOCKS_CMD_UNSUPPORTED;
	size_t alen;
	switch (buf[3]) {
	case 1: alen = 4; break;
	case 4: alen = 16; break;
	case 3:
		if (len < 5)
			return 0;
		alen = 1 + (size_t)buf[4];
		if (buf[4] == 0)
			return -NP_SOCKS_FAILURE;
		break;
	default: return -NP_SOCKS_ATYP_UNSUPPORTED;
	}
	if (len < 4 + alen + 2)
		return 0;
	const uint8_t *a = buf + 4;
	if (buf[3] == 3) {
		size_t n = buf[4];
		if (n >= hostsz || memchr(a + 1, 0, n))
			return -NP_SOCKS_FAILURE;
		memcpy(host, a + 1, n);
		host[n] = '\0';
	} else if (!inet_ntop(buf[3] == 1 ? AF_INET : AF_INET6, a, host, (socklen_t)hostsz)) {
		return -NP_SOCKS_FAILURE;
	}
	if (np_host_normalize(host) < 0)
		return -NP_SOCKS_FAILURE;
	uint16_t port = (uint16_t)(a[alen] << 8 | a[alen + 1]);
	if (port == 0)
		return -NP_SOCKS_FAILURE;
	*ret_port = port;
	return (int)(4 + alen + 2);
}

void np_socks_reply(uint8_t out[10], int rep)
{
	memset(out, 0, 10);
	out[0] = 5;
	out[1] = (uint8_t)rep;
	out[3] = 1;
}

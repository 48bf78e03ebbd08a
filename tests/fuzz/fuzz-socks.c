/* libFuzzer target: the proxy's SOCKS5 greeting and request parsers.
 * Built on demand only (make fuzz; see tests/fuzz/README). */
#include "netproxy/policy.h"
#include "netproxy/socks.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	int g = np_socks_greeting(buf, size);
	if (g > (int)size)
		abort();
	size_t off = g > 0 ? (size_t)g : 0;
	/* Every prefix, as the bytes may arrive one at a time. */
	for (size_t n = 0; n <= size - off; n++) {
		char host[NP_HOST_MAX + 1];
		uint16_t port = 0;
		int k = np_socks_request(buf + off, n, host, sizeof(host), &port);
		if (k > (int)n)
			abort();
		if (k > 0) {
			if (port == 0 || strlen(host) == 0 || np_host_normalize(host) < 0)
				abort();
			break;
		}
		if (k < 0)
			break;
	}
	free(buf);
	return 0;
}

/* libFuzzer target: the proxy's HTTP request head parser and rewriter.
 * Built on demand only (make fuzz; see tests/fuzz/README). */
#include "netproxy/http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > NP_HTTP_HEAD_MAX)
		return 0;
	/* An exact-size copy, so that ASan sees any read past the bytes. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/* Fed in two pieces, as recv() may deliver it. */
	size_t scanned = 0, half = size / 2;
	size_t end = np_http_head_end(buf, half, &scanned);
	if (!end)
		end = np_http_head_end(buf, size, &scanned);
	if (end) {
		struct np_http_req r;
		if (np_http_parse(buf, end, &r) == 0) {
			if (r.host[0] == '\0' || r.port == 0 || r.head_len != end)
				abort();
			if (!r.connect) {
				static char out[NP_HTTP_HEAD_MAX + 128];
				(void)np_http_rewrite(buf, &r, out, sizeof(out));
			}
			char resp[1024];
			(void)np_http_response(resp, sizeof(resp), 403, "Forbidden", r.host);
		}
	}
	free(buf);
	return 0;
}

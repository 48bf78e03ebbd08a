#include "common/parse.h"

#include <errno.h>
#include <stdlib.h>

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	/* A leading zero is allowed only for "0": "010" is ambiguous. */
	if (s[0] == '0' && s[1] != '\0')
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno != 0 || !end || *end != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
{
	uint64_t v;
	int r = parse_u64(s, min, max, &v);
	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}

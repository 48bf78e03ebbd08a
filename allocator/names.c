#include "allocator/names.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/* Uniform in [0, n) without modulo bias. */
static int random_below(uint32_t n, uint32_t *ret)
{
	uint32_t limit = UINT32_MAX - UINT32_MAX % n;
	for (int tries = 0; tries < 64; tries++) {
		uint32_t v;
		if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
			return errno > 0 ? -errno : -EIO;
		if (v < limit) {
			*ret = v % n;
			return 0;
		}
	}
	return -EAGAIN;
}

int name_generate(char *buf, size_t size)
{
	if (size < NAME_MAX_LEN + 1)
		return -EINVAL;
	uint32_t a, b, s;
	int r;
	/* Two different adjectives read better ("brave-brave-..." does not). */
	do {
		if ((r = random_below((uint32_t)name_n_adjectives, &a)) < 0 ||
		    (r = random_below((uint32_t)name_n_adjectives, &b)) < 0)
			return r;
	} while (a == b);
	if ((r = random_below((uint32_t)name_n_surnames, &s)) < 0)
		return r;
	int n = snprintf(buf, size, "%s-%s-%s", name_adjectives[a], name_adjectives[b],
			 name_surnames[s]);
	/* The word lists are sized so that this cannot happen; check anyway. */
	if (n < 0 || n > NAME_MAX_LEN)
		return -ENAMETOOLONG;
	return 0;
}

static bool in_list(const char *w, size_t len, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && strncmp(list[i], w, len) == 0)
			return true;
	return false;
}

bool name_is_generated(const char *s)
{
	const char *d1 = strchr(s, '-');
	const char *d2 = d1 ? strchr(d1 + 1, '-') : NULL;
	if (!d2 || strchr(d2 + 1, '-') || strlen(s) > NAME_MAX_LEN)
		return false;
	return in_list(s, (size_t)(d1 - s), name_adjectives, name_n_adjectives) &&
	       in_list(d1 + 1, (size_t)(d2 - d1 - 1), name_adjectives, name_n_adjectives) &&
	       in_list(d2 + 1, strlen(d2 + 1), name_surnames, name_n_surnames);
}

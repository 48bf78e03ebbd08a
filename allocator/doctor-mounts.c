/* ephemeractl doctor: the profiles' extra mounts (mount = ..., ephemera.conf(5)).
 * A source's fixed part (up to the first %u or %n) must exist, and its
 * filesystem must take idmapped mounts, or every login with that mount is
 * refused. */
#include "allocator/doctor-internal.h"

#include "shell/mounts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The longest leading directory of pattern with no % in it. */
static void fixed_part(const char *pattern, char *buf, size_t size)
{
	snprintf(buf, size, "%s", pattern);
	char *pct = strchr(buf, '%');
	if (!pct)
		return;
	*pct = '\0';
	char *slash = strrchr(buf, '/');
	if (slash && slash != buf)
		*slash = '\0';
	else if (slash)
		slash[1] = '\0';
}

enum level check_mounts(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)arg;
	unsigned n = 0, bad = 0;
	for (size_t i = 0; i < d->cfg.n_profiles; i++) {
		const struct ephemera_profile *p = &d->cfg.profiles[i];
		for (size_t j = 0; j < p->n_mounts; j++, n++) {
			char dir[256];
			fixed_part(p->mounts[j].src, dir, sizeof(dir));
			int r = mounts_probe(dir);
			if (r == 0)
				continue;
			bad++;
			doctor_append(why, len, "profile %s: %s: %s", p->name, dir,
				      r == -ENOENT ? "missing"
				      : r == -EINVAL ? "its filesystem has no idmapped mounts"
						     : strerror(-r));
		}
	}
	if (bad)
		return FAIL; /* why lists them: those logins are refused */
	if (n == 0)
		return doctor_verdict(why, len, OK, "no profile has extra mounts");
	return doctor_verdict(why, len, OK,
			      "%u mount(s): sources present, on filesystems with idmapped mounts", n);
}

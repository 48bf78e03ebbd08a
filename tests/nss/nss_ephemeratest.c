/* libnss_ephemeratest.so.2: an NSS module that fails, for tests only.  For
 * every uid or gid in the range read from /etc/ephemera-nss-fail ("MIN MAX")
 * it answers as an unreachable directory service does (TRYAGAIN, EAGAIN);
 * for anything else "not found".  tests/e2e/alloc-nss.t puts it after
 * "files" in the testenv's nsswitch.conf to show that the allocator counts
 * an NSS error as "taken" (allocator/lease.h L4). */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>

enum nss_status _nss_ephemeratest_getpwuid_r(uid_t, struct passwd *, char *, size_t, int *);
enum nss_status _nss_ephemeratest_getgrgid_r(gid_t, struct group *, char *, size_t, int *);

static int in_failing_range(unsigned long id)
{
	unsigned long lo, hi;
	FILE *f = fopen("/etc/ephemera-nss-fail", "re");
	int n = f ? fscanf(f, "%lu %lu", &lo, &hi) : 0;
	if (f)
		fclose(f);
	return n == 2 && id >= lo && id <= hi;
}

static enum nss_status answer(unsigned long id, int *errnop)
{
	if (in_failing_range(id)) {
		*errnop = EAGAIN;
		return NSS_STATUS_TRYAGAIN;
	}
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_ephemeratest_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
					     int *errnop)
{
	(void)pw, (void)buf, (void)len;
	return answer(uid, errnop);
}

enum nss_status _nss_ephemeratest_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len,
					     int *errnop)
{
	(void)gr, (void)buf, (void)len;
	return answer(gid, errnop);
}

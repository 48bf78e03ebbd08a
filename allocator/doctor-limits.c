/* doctor: which of a profile's limits this host can enforce (issue 9): the
 * cgroup v2 controllers for memory_max, pids_max and cpu_weight, user quotas
 * on the sessions filesystem for disk_quota, tmpfs with ACLs for home =
 * tmpfs:SIZE.  Everything is looked at, nothing changed (the tmpfs is
 * mounted in a child's private mount namespace). */
#include "allocator/doctor-internal.h"

#include "allocator/quota.h"
#include "common/cgroup.h"
#include "common/util.h"

#include <acl/libacl.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/mount.h>

enum { LIM_QUOTA = CG_N, LIM_TMPFS, LIM_N };

struct host_limits {
	const char *why[LIM_N]; /* NULL: enforced */
	char cg_why[160], quota_why[160], tmpfs_why[160];
};

/* A tmpfs that takes the home's ACL, in a mount namespace of our own. */
static int try_tmpfs(int unused)
{
	(void)unused;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return errno;
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700") < 0)
		return errno;
	acl_t acl = acl_from_text("u::rwx,g::---,o::---,u:65534:rwx,m::rwx");
	int r = acl && acl_set_file("/tmp", ACL_TYPE_ACCESS, acl) == 0 ? 0 : errno;
	if (acl)
		acl_free(acl);
	return r;
}

static void probe(const struct doctor *d, struct host_limits *h)
{
	struct cgroup_host cg;
	cgroup_host_probe(&cg);
	snprintf(h->cg_why, sizeof(h->cg_why), "%s", cg.why);
	for (unsigned i = 0; i < CG_N; i++) {
		h->why[i] = cgroup_unenforced_why(&cg, i);
		if (h->why[i] == cg.why)
			h->why[i] = h->cg_why;
	}
	if (cg.root_fd >= 0)
		close(cg.root_fd);
	_cleanup_close_ int sfd =
	    open(d->cfg.sessions_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		snprintf(h->quota_why, sizeof(h->quota_why), "%s: %m", d->cfg.sessions_dir);
	h->why[LIM_QUOTA] =
	    sfd >= 0 && quota_probe(sfd, h->quota_why, sizeof(h->quota_why)) == 0 ? NULL
										: h->quota_why;
	int e = doctor_in_child(try_tmpfs, 0);
	snprintf(h->tmpfs_why, sizeof(h->tmpfs_why), "a tmpfs with ACLs: %s", strerror(e));
	h->why[LIM_TMPFS] = e ? h->tmpfs_why : NULL;
}

static const char *key_of(unsigned i)
{
	return i < CG_N ? cgroup_ctl_key(i) : i == LIM_QUOTA ? "disk_quota" : "home = tmpfs";
}

enum level check_limits_host(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)arg;
	struct host_limits h = {0};
	probe(d, &h);
	char can[256] = "", cannot[256] = "";
	for (unsigned i = 0; i < LIM_N; i++) {
		char *b = h.why[i] ? cannot : can;
		size_t n = strlen(b);
		snprintf(b + n, sizeof(can) - n, "%s%s", n ? ", " : "", key_of(i));
	}
	return doctor_verdict(why, len, OK, "this host can enforce %s%s%s", can[0] ? can : "none",
			      cannot[0] ? "; not " : "", cannot);
}

/* What one profile sets, with the reason for each it cannot have. */
static void check_profile(const struct ephemera_profile *p, const struct host_limits *h,
			  char *why, size_t len, unsigned *ret_set, unsigned *ret_bad)
{
	bool set[LIM_N] = {p->memory_max != 0, p->pids_max != 0, p->cpu_weight != 0,
			   p->disk_quota != 0, p->home_tmpfs != 0};
	for (unsigned i = 0; i < LIM_N; i++) {
		if (!set[i])
			continue;
		(*ret_set)++;
		if (h->why[i]) {
			(*ret_bad)++;
			doctor_append(why, len, "profile %s: %s cannot be enforced: %s", p->name,
				      key_of(i), h->why[i]);
		}
	}
}

enum level check_limits_profiles(const struct doctor *d, const void *arg, char *why, size_t len)
{
	(void)arg;
	struct host_limits h = {0};
	probe(d, &h);
	why[0] = '\0';
	unsigned set = 0, bad = 0;
	for (size_t i = 0; i < d->cfg.n_profiles; i++)
		check_profile(&d->cfg.profiles[i], &h, why, len, &set, &bad);
	if (bad)
		return WARN;
	if (!set)
		return doctor_verdict(why, len, OK,
				      "no profile sets memory_max, pids_max, cpu_weight, disk_quota "
				      "or a tmpfs home");
	return doctor_verdict(why, len, OK, "%u limit(s) set in %zu profile(s), all enforced", set,
			      d->cfg.n_profiles);
}

#include "shell/cgroup.h"

#include "common/errbuf.h"
#include "common/util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* "+memory" etc. into dir's cgroup.subtree_control, for each controller of
 * mask that is not on yet. */
static int enable(int dir_fd, unsigned mask, const char *where, char *err, size_t errlen)
{
	unsigned on = cgroup_read_ctls(dir_fd, "cgroup.subtree_control");
	for (unsigned i = 0; i < CG_N; i++) {
		if (!(mask & (1u << i)) || (on & (1u << i)))
			continue;
		char word[32];
		snprintf(word, sizeof(word), "+%s", cgroup_ctl_name(i));
		int r = cgroup_write(dir_fd, "cgroup.subtree_control", word);
		if (r < 0)
			return errbuf(r, err, errlen, "enabling the %s controller in %s: %s",
				      cgroup_ctl_name(i), where, strerror(-r));
	}
	return 0;
}

/* <root>/ephemera: root's, made once, with the controllers handed down. */
static int open_parent(int root_fd, unsigned mask, char *err, size_t errlen)
{
	if (mkdirat(root_fd, CGROUP_PARENT, 0700) < 0 && errno != EEXIST)
		return errbuf(neg_errno(), err, errlen, "creating the cgroup %s: %m",
			      CGROUP_PARENT);
	_cleanup_close_ int fd =
	    openat(root_fd, CGROUP_PARENT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return errbuf(neg_errno(), err, errlen, "opening the cgroup %s: %m", CGROUP_PARENT);
	if (st.st_uid != 0 || (st.st_mode & 0022))
		return errbuf(-EPERM, err, errlen, "the cgroup %s is not root's alone",
			      CGROUP_PARENT);
	int r = enable(root_fd, mask, "the cgroup root", err, errlen);
	if (r == 0)
		r = enable(fd, mask, "the cgroup " CGROUP_PARENT, err, errlen);
	return r < 0 ? r : take_fd(&fd);
}

/* A cgroup of this name left by an earlier start of the session goes if empty. */
static int make_session_dir(int parent, const char *name)
{
	if (mkdirat(parent, name, 0700) < 0) {
		if (errno != EEXIST || unlinkat(parent, name, AT_REMOVEDIR) < 0 ||
		    mkdirat(parent, name, 0700) < 0)
			return neg_errno();
	}
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? neg_errno() : fd;
}

static int set_u64(int fd, const char *file, uint64_t v, char *err, size_t errlen)
{
	char val[32];
	snprintf(val, sizeof(val), "%" PRIu64, v);
	int r = cgroup_write(fd, file, val);
	return r < 0 ? errbuf(r, err, errlen, "writing %s = %s: %s", file, val, strerror(-r)) : 0;
}

static int set_limits(int fd, const struct ephemera_profile *p, unsigned on, char *err,
		      size_t errlen)
{
	int r = 0;
	if (on & CG_MEMORY) {
		r = set_u64(fd, "memory.max", p->memory_max, err, errlen);
		/* A hog must not swap around memory.max (no swap: no file, fine). */
		int s = r < 0 ? 0 : cgroup_write(fd, "memory.swap.max", "0");
		if (s < 0 && s != -ENOENT)
			r = errbuf(s, err, errlen, "writing memory.swap.max = 0: %s", strerror(-s));
	}
	if (r == 0 && (on & CG_PIDS))
		r = set_u64(fd, "pids.max", p->pids_max, err, errlen);
	if (r == 0 && (on & CG_CPU))
		r = set_u64(fd, "cpu.weight", p->cpu_weight, err, errlen);
	return r;
}

int shell_cgroup_create(const struct ephemera_profile *p, const char *name,
			struct shell_cgroup *ret, char *err, size_t errlen)
{
	*ret = (struct shell_cgroup){.fd = -1};
	unsigned want = cgroup_wanted(p);
	if (!want)
		return 0;
	struct cgroup_host h;
	cgroup_host_probe(&h);
	_cleanup_close_ int root = h.root_fd;
	snprintf(ret->host_why, sizeof(ret->host_why), "%s", h.why);
	for (unsigned i = 0; i < CG_N; i++) {
		const char *why = (want & (1u << i)) ? cgroup_unenforced_why(&h, i) : NULL;
		if (why) {
			ret->unenforced |= 1u << i;
			ret->why[i] = h.root_fd < 0 ? ret->host_why : why;
		}
	}
	if (root < 0)
		return 0;
	unsigned on = want & ~ret->unenforced;
	_cleanup_close_ int parent = open_parent(root, on, err, errlen);
	if (parent < 0)
		return parent;
	_cleanup_close_ int fd = make_session_dir(parent, name);
	if (fd < 0)
		return errbuf(fd, err, errlen, "creating the cgroup %s/%s: %s", CGROUP_PARENT, name,
			      strerror(-fd));
	int r = set_limits(fd, p, on, err, errlen);
	if (r < 0) {
		(void)unlinkat(parent, name, AT_REMOVEDIR);
		return r;
	}
	ret->fd = take_fd(&fd);
	return 0;
}

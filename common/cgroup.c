#include "common/cgroup.h"

#include "common/util.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>

#define REMOVE_ROUNDS 250 /* 20 ms apart: 5 s for the last processes to leave */

static const struct {
	const char *name, *key;
} ctls[CG_N] = {{"memory", "memory_max"}, {"pids", "pids_max"}, {"cpu", "cpu_weight"}};

const char *cgroup_ctl_name(unsigned bit)
{
	return bit < CG_N ? ctls[bit].name : "?";
}

const char *cgroup_ctl_key(unsigned bit)
{
	return bit < CG_N ? ctls[bit].key : "?";
}

unsigned cgroup_wanted(const struct ephemera_profile *p)
{
	return (p->memory_max ? CG_MEMORY : 0) | (p->pids_max ? CG_PIDS : 0) |
	       (p->cpu_weight ? CG_CPU : 0);
}

/* The cgroup2 root, or -errno. */
static int open_root(void)
{
	static const char *const paths[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		int fd = open(paths[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct statfs sf;
		if (fd >= 0 && fstatfs(fd, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
			return fd;
		if (fd >= 0)
			close(fd);
	}
	return -ENOENT;
}

/* The controllers named in a cgroup.controllers or cgroup.subtree_control. */
unsigned cgroup_read_ctls(int dir_fd, const char *file)
{
	_cleanup_close_ int fd = openat(dir_fd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[512];
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	unsigned mask = 0;
	char *save = NULL;
	for (char *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
		for (unsigned i = 0; i < CG_N; i++)
			if (!strcmp(w, ctls[i].name))
				mask |= 1u << i;
	return mask;
}

void cgroup_host_probe(struct cgroup_host *h)
{
	*h = (struct cgroup_host){.root_fd = -1};
	int fd = open_root();
	struct statvfs vfs;
	if (fd < 0) {
		snprintf(h->why, sizeof(h->why),
			 "no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified");
		return;
	}
	if (fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) {
		close(fd);
		snprintf(h->why, sizeof(h->why), "the cgroup v2 hierarchy is mounted read-only");
		return;
	}
	h->root_fd = fd;
	h->available = cgroup_read_ctls(fd, "cgroup.controllers");
}

const char *cgroup_unenforced_why(const struct cgroup_host *h, unsigned bit)
{
	static const char *const missing[CG_N] = {
	    "the memory controller is not in the cgroup v2 hierarchy (bound to cgroup v1, or "
	    "disabled)",
	    "the pids controller is not in the cgroup v2 hierarchy (bound to cgroup v1, or "
	    "disabled)",
	    "the cpu controller is not in the cgroup v2 hierarchy (bound to cgroup v1, or "
	    "disabled)"};
	if (h->root_fd < 0)
		return h->why;
	return h->available & (1u << bit) ? NULL : missing[bit];
}

int cgroup_write(int dir_fd, const char *name, const char *value)
{
	_cleanup_close_ int fd = openat(dir_fd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0)
		return neg_errno();
	return (size_t)n == len ? 0 : -EIO;
}

/* The fd of <root>/ephemera, or -errno (-ENOENT: no cgroup v2, or no parent). */
static int open_parent(void)
{
	_cleanup_close_ int root = open_root();
	if (root < 0)
		return root;
	int fd = openat(root, CGROUP_PARENT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? neg_errno() : fd;
}

int cgroup_session_kill(const char *name)
{
	_cleanup_close_ int parent = open_parent();
	if (parent < 0)
		return parent == -ENOENT ? 0 : parent;
	char file[128];
	snprintf(file, sizeof(file), "%s/cgroup.kill", name);
	int r = cgroup_write(parent, file, "1");
	return r == -ENOENT ? 0 : r; /* no cgroup, or a kernel before 5.14 */
}

int cgroup_session_remove(const char *name)
{
	_cleanup_close_ int parent = open_parent();
	if (parent < 0)
		return parent == -ENOENT ? 0 : parent;
	for (int round = 0; round < REMOVE_ROUNDS; round++) {
		if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return neg_errno();
		/* Killed processes take a moment to leave their cgroup. */
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

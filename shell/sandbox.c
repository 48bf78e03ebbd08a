/* Which mounts make a session's root, and the loop that makes them.
 * The layout (DESIGN.md): a tmpfs root, read-only system trees, a generated
 * /etc/passwd and /etc/group, secrets masked, the session's own home, private
 * size-limited tmpfs for /tmp, /var/tmp, /dev/shm and /run, a fresh /proc with
 * its dangerous files masked, and a minimal /dev with its own devpts. */
#include "shell/sandbox.h"

#include "common/util.h"
#include "shell/mount.h"

#include <glob.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define RO_ATTR	  (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV)
#define MASK_FILE "/.ephemera-mask" /* root's 0000 file, bound over secrets, then unlinked */

/* System trees bound read-only when the host has them (as links on merged-/usr). */
static const char *const system_trees[] = {"/usr",   "/bin",	"/sbin", "/lib", "/lib32",
					   "/lib64", "/libx32", "/opt",	 "/etc"};

/* Host files no session may read. */
static const char *const etc_masks[] = {
    "/etc/shadow",	    "/etc/shadow-",   "/etc/gshadow",  "/etc/gshadow-",
    "/etc/sudoers",	    "/etc/sudoers.d", "/etc/ephemera", "/etc/ssh/ssh_host_*_key",
    "/etc/security/opasswd"};

/* /proc entries that leak or act on the host (as container runtimes mask them). */
static const char *const proc_masks[] = {
    "/proc/kcore", "/proc/sysrq-trigger", "/proc/kallsyms",    "/proc/timer_list",
    "/proc/keys",  "/proc/latency_stats", "/proc/sched_debug", "/proc/kmsg",
    "/proc/acpi",  "/proc/scsi",	  "/proc/config.gz"};
static const char *const proc_ro[] = {"/proc/sys", "/proc/irq", "/proc/bus", "/proc/fs"};

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

static const char *intern(struct sandbox_plan *plan, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *intern(struct sandbox_plan *plan, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t left = sizeof(plan->pool) - plan->used;
	int n = vsnprintf(plan->pool + plan->used, left, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= left) {
		plan->overflow = true;
		return "";
	}
	const char *s = plan->pool + plan->used;
	plan->used += (size_t)n + 1;
	return s;
}

static void add(struct sandbox_plan *plan, enum step_op op, const char *src, const char *dst,
		const char *arg, mode_t mode)
{
	if (plan->n >= SANDBOX_MAX_STEPS) {
		plan->overflow = true;
		return;
	}
	plan->steps[plan->n++] = (struct sandbox_step){op, src, dst, arg, mode, -1};
}

static void plan_system(struct sandbox_plan *plan)
{
	for (size_t i = 0; i < ELEMENTSOF(system_trees); i++) {
		const char *t = system_trees[i];
		struct stat st;
		char target[256];
		if (lstat(t, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(t, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			add(plan, STEP_SYMLINK, NULL, t, intern(plan, "%s", target), 0);
		} else if (S_ISDIR(st.st_mode)) {
			add(plan, STEP_DIR, NULL, t, NULL, 0755);
			add(plan, STEP_BIND_RO, t, t, NULL, 0);
		}
	}
}

static void plan_etc(struct sandbox_plan *plan, const struct sandbox_params *p)
{
	/* Mount points made inside the new root, never in the user's files. */
	add(plan, STEP_CONTENT, NULL, MASK_FILE, "", 0000);
	for (size_t i = 0; i < ELEMENTSOF(etc_masks); i++) {
		glob_t g;
		if (glob(etc_masks[i], GLOB_NOSORT, NULL, &g) == 0)
			for (size_t j = 0; j < g.gl_pathc; j++)
				add(plan, STEP_MASK, NULL, intern(plan, "%s", g.gl_pathv[j]), NULL,
				    0);
		globfree(&g);
	}
	add(plan, STEP_CONTENT, NULL, "/.ephemera-passwd",
	    intern(plan,
		   "root:x:0:0:root:/root:/usr/sbin/nologin\n"
		   "%s:x:%u:%u:ephemera session:%s:%s\n"
		   "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		   p->name, (unsigned)p->uid, (unsigned)p->gid, p->home, p->shell),
	    0644);
	add(plan, STEP_CONTENT, NULL, "/.ephemera-group",
	    intern(plan, "root:x:0:\ntty:x:5:\n%s:x:%u:\nnogroup:x:65534:\n", p->name,
		   (unsigned)p->gid),
	    0644);
	add(plan, STEP_BIND_RO, "/.ephemera-passwd", "/etc/passwd", "root-relative", 0);
	add(plan, STEP_BIND_RO, "/.ephemera-group", "/etc/group", "root-relative", 0);
}

static void plan_dev(struct sandbox_plan *plan, const struct sandbox_params *p)
{
	add(plan, STEP_DIR, NULL, "/dev", NULL, 0755);
	add(plan, STEP_TMPFS, NULL, "/dev", "size=64k,mode=0755,nr_inodes=64", 0);
	for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
		const char *dst = intern(plan, "/dev/%s", dev_nodes[i]);
		add(plan, STEP_FILE, NULL, dst, NULL, 0666);
		add(plan, STEP_BIND_DEV, dst, dst, NULL, 0);
	}
	if (p->tty) {
		/* The login's terminal, by its path in our copy of the mount table
		 * (a mount of the parent namespace cannot be cloned from the fd);
		 * the step checks it is the same device as fd 0. */
		add(plan, STEP_FILE, NULL, "/dev/console", NULL, 0600);
		add(plan, STEP_BIND_TTY, intern(plan, "%s", p->tty), "/dev/console", NULL, 0);
	}
	add(plan, STEP_DIR, NULL, "/dev/pts", NULL, 0755);
	add(plan, STEP_DEVPTS, NULL, "/dev/pts", "newinstance,ptmxmode=0666,mode=0620,gid=5", 0);
	add(plan, STEP_SYMLINK, NULL, "/dev/ptmx", "pts/ptmx", 0);
	add(plan, STEP_DIR, NULL, "/dev/shm", NULL, 01777);
	add(plan, STEP_TMPFS, NULL, "/dev/shm",
	    intern(plan, "size=%llu,mode=1777", (unsigned long long)p->profile->shm_size), 0);
	add(plan, STEP_SYMLINK, NULL, "/dev/fd", "/proc/self/fd", 0);
	add(plan, STEP_SYMLINK, NULL, "/dev/stdin", "/proc/self/fd/0", 0);
	add(plan, STEP_SYMLINK, NULL, "/dev/stdout", "/proc/self/fd/1", 0);
	add(plan, STEP_SYMLINK, NULL, "/dev/stderr", "/proc/self/fd/2", 0);
}

static void plan_proc(struct sandbox_plan *plan)
{
	add(plan, STEP_DIR, NULL, "/proc", NULL, 0555);
	add(plan, STEP_PROC, NULL, "/proc", NULL, 0);
	for (size_t i = 0; i < ELEMENTSOF(proc_masks); i++)
		add(plan, STEP_MASK, NULL, proc_masks[i], NULL, 0);
	for (size_t i = 0; i < ELEMENTSOF(proc_ro); i++)
		add(plan, STEP_RO, NULL, proc_ro[i], NULL, 0);
}

static void plan_scratch(struct sandbox_plan *plan, const struct sandbox_params *p)
{
	const struct ephemera_profile *prof = p->profile;
	const char *tmp_opts =
	    intern(plan, "size=%llu,mode=1777", (unsigned long long)prof->tmp_size);
	add(plan, STEP_DIR, NULL, "/tmp", NULL, 01777);
	add(plan, STEP_TMPFS, NULL, "/tmp", tmp_opts, 0);
	add(plan, STEP_DIR, NULL, "/var", NULL, 0755);
	add(plan, STEP_DIR, NULL, "/var/tmp", NULL, 01777);
	add(plan, STEP_TMPFS, NULL, "/var/tmp", tmp_opts, 0);
	add(plan, STEP_DIR, NULL, "/run", NULL, 0755);
	add(plan, STEP_TMPFS, NULL, "/run",
	    intern(plan, "size=%llu,mode=0755", (unsigned long long)prof->run_size), 0);

	/* The home: the one host tree the session may write.  Its parents are
	 * made in the new root (or found in a bound tree), and the sessions
	 * directory itself is a fresh tmpfs, so no other session is even named. */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", p->home);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		for (char *c = strchr(dir + 1, '/'); c; c = strchr(c + 1, '/')) {
			*c = '\0';
			add(plan, STEP_DIR, NULL, intern(plan, "%s", dir), NULL, 0755);
			*c = '/';
		}
		add(plan, STEP_DIR, NULL, intern(plan, "%s", dir), NULL, 0711);
		add(plan, STEP_TMPFS, NULL, intern(plan, "%s", dir),
		    "size=64k,nr_inodes=16,mode=0711", 0);
	}
	add(plan, STEP_DIR, NULL, p->home, NULL, 0700);
	add(plan, STEP_BIND_RW, p->home, p->home, NULL, 0);
	if (prof->home_tmpfs) /* the output is on disk, beside the homes (allocator/home.h) */
		add(plan, STEP_BIND_RW, intern(plan, "%s/.output/%s", dir, p->name),
		    intern(plan, "%s/mnt/output", p->home), NULL, 0);
	add(plan, STEP_RO, NULL, intern(plan, "%s/mnt/upload", p->home), NULL, 0);
}

/* The profile's extra mounts, cloned and checked before (mounts.c): their
 * mount points are made in the home as root, each component resolved inside
 * the new root without links (mnt_mkdir), then each tree attached by fd. */
static void plan_extra(struct sandbox_plan *plan, const struct sandbox_params *p)
{
	for (size_t i = 0; p->extra && i < p->extra->n; i++) {
		const struct extra_mount *m = &p->extra->m[i];
		char path[4096];
		int n = snprintf(path, sizeof(path), "%s/%s", p->home, m->dst);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			plan->overflow = true;
			return;
		}
		for (char *c = strchr(path + strlen(p->home) + 1, '/'); c; c = strchr(c + 1, '/')) {
			*c = '\0';
			add(plan, STEP_DIR, NULL, intern(plan, "%s", path), NULL, 0755);
			*c = '/';
		}
		const char *dst = intern(plan, "%s", path);
		add(plan, STEP_DIR, NULL, dst, NULL, 0755);
		add(plan, STEP_ATTACH, intern(plan, "%s", m->src), dst, m->rw ? "rw" : "ro", 0);
		if (plan->n > 0 && !plan->overflow)
			plan->steps[plan->n - 1].fd = m->tree_fd;
	}
}

/* network = proxy: the proxy's socket, on a path of the fresh /run. */
static void plan_net(struct sandbox_plan *plan, const struct sandbox_params *p)
{
	add(plan, STEP_DIR, NULL, "/run/ephemera", NULL, 0755);
	add(plan, STEP_FILE, NULL, "/run/ephemera/proxy.sock", NULL, 0600);
	add(plan, STEP_BIND_RW, intern(plan, "%s", p->proxy_socket), "/run/ephemera/proxy.sock",
	    NULL, 0);
}

int sandbox_plan_build(struct sandbox_plan *plan, const struct sandbox_params *p)
{
	memset(plan, 0, sizeof(*plan));
	plan_system(plan);
	plan_etc(plan, p);
	plan_dev(plan, p);
	plan_proc(plan);
	plan_scratch(plan, p);
	plan_extra(plan, p);
	if (p->proxy_socket)
		plan_net(plan, p);
	add(plan, STEP_UNLINK, NULL, MASK_FILE, NULL, 0);
	add(plan, STEP_UNLINK, NULL, "/.ephemera-passwd", NULL, 0);
	add(plan, STEP_UNLINK, NULL, "/.ephemera-group", NULL, 0);
	return plan->overflow ? -ENOBUFS : 0;
}

static const char *const op_names[] = {
    [STEP_DIR] = "dir",
    [STEP_FILE] = "file",
    [STEP_SYMLINK] = "symlink",
    [STEP_CONTENT] = "content",
    [STEP_BIND_RO] = "bind-ro",
    [STEP_BIND_RW] = "bind-rw",
    [STEP_BIND_DEV] = "bind-dev",
    [STEP_BIND_TTY] = "bind-tty",
    [STEP_TMPFS] = "tmpfs",
    [STEP_PROC] = "proc",
    [STEP_DEVPTS] = "devpts",
    [STEP_MASK] = "mask",
    [STEP_RO] = "ro",
    [STEP_UNLINK] = "unlink",
    [STEP_ATTACH] = "attach",
};

const char *sandbox_step_name(enum step_op op)
{
	return (unsigned)op < ELEMENTSOF(op_names) ? op_names[op] : "?";
}

void sandbox_plan_print(const struct sandbox_plan *plan, FILE *out)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct sandbox_step *s = &plan->steps[i];
		fprintf(out, "%3zu %-9s %s", i, sandbox_step_name(s->op), s->dst);
		if (s->src)
			fprintf(out, " <- %s", s->src);
		if (s->arg && s->op != STEP_CONTENT)
			fprintf(out, " (%s)", s->arg);
		if (s->op == STEP_DIR || s->op == STEP_FILE || s->op == STEP_CONTENT)
			fprintf(out, " mode %04o", (unsigned)s->mode);
		fputc('\n', out);
	}
}

/* Bind an unreadable empty file or directory over dst, if dst exists. */
static int mask(int root_fd, const char *dst)
{
	_cleanup_close_ int fd = mnt_resolve(root_fd, dst, false);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	if (S_ISDIR(st.st_mode))
		return mnt_fresh(root_fd, "tmpfs", "size=4k,nr_inodes=1,mode=0000", dst,
				 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				     MOUNT_ATTR_NOEXEC);
	_cleanup_close_ int src = mnt_resolve(root_fd, MASK_FILE, false);
	if (src < 0)
		return src;
	return mnt_bind(root_fd, NULL, src, dst, false,
			MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			    MOUNT_ATTR_NOEXEC);
}

static int remount_ro_if_present(int root_fd, const char *dst)
{
	_cleanup_close_ int fd = mnt_resolve(root_fd, dst, true);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	return mnt_remount_ro(root_fd, dst);
}

/* Files the plan wrote into the new root are bound from there, by fd. */
static int bind_from_root(int root_fd, const char *src, const char *dst)
{
	_cleanup_close_ int fd = mnt_resolve(root_fd, src, false);
	if (fd < 0)
		return fd;
	return mnt_bind(root_fd, NULL, fd, dst, false,
			RO_ATTR | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
}

static int unlink_in_root(int root_fd, const char *path)
{
	const char *name = path[0] == '/' ? path + 1 : path;
	if (strchr(name, '/'))
		return -EINVAL;
	_cleanup_close_ int dfd = mnt_resolve(root_fd, "/", true);
	if (dfd < 0)
		return dfd;
	/* O_PATH fds do not serve unlinkat: open the root directory for real. */
	_cleanup_close_ int rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return neg_errno();
	return unlinkat(rfd, name, 0) < 0 ? neg_errno() : 0;
}

/* The terminal at host path src must be the device on fd 0: a path is only a
 * name, the fd is what the login really holds. */
static int bind_tty(int root_fd, const char *src, const char *dst)
{
	struct stat want, got;
	if (fstat(STDIN_FILENO, &want) < 0 || stat(src, &got) < 0)
		return neg_errno();
	if (!S_ISCHR(want.st_mode) || !S_ISCHR(got.st_mode) || want.st_rdev != got.st_rdev)
		return -ENOTTY;
	return mnt_bind(root_fd, src, -1, dst, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
}

static int run_step(const struct sandbox_step *s, int root_fd)
{
	switch (s->op) {
	case STEP_DIR: return mnt_mkdir(root_fd, s->dst, s->mode);
	case STEP_FILE: return mnt_mkfile(root_fd, s->dst, s->mode);
	case STEP_SYMLINK: return mnt_symlink(root_fd, s->arg, s->dst);
	case STEP_CONTENT: return mnt_write_file(root_fd, s->dst, s->arg, s->mode);
	case STEP_BIND_RO:
		if (s->arg) /* "root-relative": a file the plan wrote */
			return bind_from_root(root_fd, s->src, s->dst);
		return mnt_bind(root_fd, s->src, -1, s->dst, true, RO_ATTR);
	case STEP_BIND_RW:
		return mnt_bind(root_fd, s->src, -1, s->dst, false,
				MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	case STEP_BIND_DEV:
		return mnt_bind(root_fd, s->src, -1, s->dst, false,
				MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	case STEP_BIND_TTY: return bind_tty(root_fd, s->src, s->dst);
	case STEP_TMPFS:
		return mnt_fresh(root_fd, "tmpfs", s->arg, s->dst,
				 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	case STEP_PROC:
		return mnt_fresh(root_fd, "proc", NULL, s->dst,
				 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	case STEP_DEVPTS:
		return mnt_fresh(root_fd, "devpts", s->arg, s->dst,
				 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	case STEP_MASK: return mask(root_fd, s->dst);
	case STEP_RO: return remount_ro_if_present(root_fd, s->dst);
	case STEP_UNLINK: return unlink_in_root(root_fd, s->dst);
	case STEP_ATTACH: return mnt_attach(root_fd, s->fd, s->dst);
	}
	return -EINVAL;
}

int sandbox_plan_run(const struct sandbox_plan *plan, int root_fd, size_t *ret_failed)
{
	for (size_t i = 0; i < plan->n; i++) {
		int r = run_step(&plan->steps[i], root_fd);
		if (r < 0) {
			*ret_failed = i;
			return r;
		}
	}
	return 0;
}

/* Extra mounts of a profile: expand, check, clone (mounts.h has the
 * invariants).  Runs as root in the setuid shell, in the host's mount
 * namespace, before the sandbox's namespaces exist: a mount of this namespace
 * can be cloned from an fd only here, and the detached clone is then
 * attached inside the sandbox by pid 1 (sandbox.c, STEP_ATTACH). */
#include "shell/mounts.h"

#include "common/errbuf.h"
#include "common/util.h"
#include "shell/sandbox.h"

#include <acl/libacl.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

int mounts_expand(const char *pattern, const struct mounts_who *w, char *out, size_t outsz)
{
	size_t n = 0;
	for (const char *p = pattern; *p; p++) {
		const char *piece;
		char one[2] = {*p, '\0'};
		if (*p != '%') {
			piece = one;
		} else {
			p++;
			if (*p == 'u')
				piece = w->owner;
			else if (*p == 'n')
				piece = w->session;
			else if (*p == '%')
				piece = "%";
			else
				return -EINVAL;
		}
		size_t len = strlen(piece);
		if (n + len >= outsz)
			return -ENAMETOOLONG;
		memcpy(out + n, piece, len);
		n += len;
	}
	out[n] = '\0';
	return 0;
}

/* After expansion, again: relative, and no empty, "." or ".." component. */
static bool plain_relative(const char *path)
{
	if (!*path || path[0] == '/')
		return false;
	for (const char *c = path; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL) {
		size_t len = strcspn(c, "/");
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && !strncmp(c, "..", 2)))
			return false;
	}
	return true;
}

/* 1 when a user other than root and the owner has perm (ACL_WRITE or
 * ACL_EXECUTE) on the directory on fd, by its group or other bits (bits:
 * 0022 or 0011) or by an ACL entry (the mask applied). */
static int open_to_others(int fd, const struct stat *st, uid_t owner_uid, acl_perm_t perm,
			  mode_t bits)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	acl_t acl = acl_get_file(path, ACL_TYPE_ACCESS);
	if (!acl)
		return errno == ENOTSUP || errno == ENODATA ? (st->st_mode & bits) != 0 : neg_errno();
	acl_permset_t ps;
	acl_entry_t e;
	bool mask_p = true, p = false;
	for (int i = ACL_FIRST_ENTRY; acl_get_entry(acl, i, &e) == 1; i = ACL_NEXT_ENTRY) {
		acl_tag_t tag;
		if (acl_get_tag_type(e, &tag) == 0 && tag == ACL_MASK && acl_get_permset(e, &ps) == 0)
			mask_p = acl_get_perm(ps, perm) == 1;
	}
	for (int i = ACL_FIRST_ENTRY; acl_get_entry(acl, i, &e) == 1; i = ACL_NEXT_ENTRY) {
		acl_tag_t tag;
		if (acl_get_tag_type(e, &tag) < 0 || acl_get_permset(e, &ps) < 0 ||
		    acl_get_perm(ps, perm) != 1)
			continue;
		if (tag == ACL_OTHER)
			p = true;
		else if ((tag == ACL_GROUP_OBJ || tag == ACL_GROUP) && mask_p)
			p = true;
		else if (tag == ACL_USER && mask_p) {
			uid_t *q = acl_get_qualifier(e);
			p = p || !q || *q != owner_uid;
			if (q)
				acl_free(q);
		}
	}
	acl_free(acl);
	return p;
}

/* M2 for the source itself: nobody but root and the owner may write to it;
 * and a rw source must be out of everybody else's reach.  Through the
 * idmapped bind the session's files are the owner's on the host, setuid
 * bits included (the bind is nosuid, the host's filesystem need not be):
 * a user who can reach the source could run them as the owner. */
static int check_source_access(int fd, const struct stat *st, const struct mounts_who *w,
			       bool rw, const char *src, char *err, size_t errlen)
{
	int r = open_to_others(fd, st, w->owner_uid, ACL_WRITE, 0022);
	if (r != 0)
		return errbuf(r < 0 ? r : -EPERM, err, errlen,
			      "mount %s: writable by a user other than root or %s", src, w->owner);
	r = rw ? open_to_others(fd, st, w->owner_uid, ACL_EXECUTE, 0011) : 0;
	if (r != 0)
		return errbuf(r < 0 ? r : -EPERM, err, errlen,
			      "mount %s: rw, but reachable by a user other than root or %s (a "
			      "setuid file made in it would be the owner's)",
			      src, w->owner);
	return 0;
}

/* M2 for one component: the source itself (last) or a directory above it. */
static int check_component(const struct stat *st, const struct mounts_who *w, bool last,
			   const char *src, const char *prefix, char *err, size_t errlen)
{
	const char *who = last ? "" : prefix, *is = last ? "" : " is ";
	if (S_ISLNK(st->st_mode))
		return errbuf(-ELOOP, err, errlen, "mount %s: %s%sa symbolic link", src, who, is);
	if (!S_ISDIR(st->st_mode))
		return errbuf(-ENOTDIR, err, errlen, "mount %s: %s%snot a directory", src, who, is);
	if (st->st_uid != 0 && st->st_uid != w->owner_uid)
		return errbuf(-EPERM, err, errlen, "mount %s: %s%sowned by uid %u, not root or %s",
			      src, who, is, (unsigned)st->st_uid, w->owner);
	if (last && (st->st_mode & 0002))
		return errbuf(-EPERM, err, errlen, "mount %s: writable by others", src);
	return 0;
}

/* M5: the one directory we make, under a parent that is root's alone. */
static int make_rw_source(int parent, const char *leaf, const struct mounts_who *w,
			  const char *src, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(parent, &st) < 0 || st.st_uid != 0 || (st.st_mode & 0022))
		return errbuf(-ENOENT, err, errlen,
			      "mount %s: missing (made only under a directory that is root's and "
			      "writable by root alone)",
			      src);
	if (mkdirat(parent, leaf, 0700) < 0 && errno != EEXIST)
		return errbuf(neg_errno(), err, errlen, "mount %s: cannot make it: %s", src,
			      strerror(errno));
	_cleanup_close_ int fd = openat(parent, leaf, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return errbuf(neg_errno(), err, errlen, "mount %s: %s", src, strerror(errno));
	if (st.st_uid != 0 || (st.st_mode & 07777) != 0700)
		return 0; /* not the one we made: the caller's checks judge it */
	char text[96], path[64];
	snprintf(text, sizeof(text), "u::rwx,g::---,o::---,u:%u:rwx,m::rwx",
		 (unsigned)w->owner_uid);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	acl_t acl = acl_from_text(text);
	int r = !acl || acl_set_file(path, ACL_TYPE_ACCESS, acl) < 0 ? neg_errno() : 0;
	if (acl)
		acl_free(acl);
	return r < 0 ? errbuf(r, err, errlen, "mount %s: setting its ACL: %s", src, strerror(-r))
		     : 0;
}

/* M1, M2, M5: the O_PATH fd of the source directory. */
static int open_source(const char *src, const struct mounts_who *w, bool rw, char *err,
		       size_t errlen)
{
	_cleanup_close_ int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return errbuf(neg_errno(), err, errlen, "mount %s: /: %s", src, strerror(errno));
	char prefix[256] = "";
	size_t plen = 0;
	for (const char *c = src + 1; *c;) {
		size_t len = strcspn(c, "/");
		bool last = c[len] == '\0';
		char name[256];
		if (len == 0 || len >= sizeof(name) || plen + len + 1 >= sizeof(prefix))
			return errbuf(-EINVAL, err, errlen, "mount %s: not a plain path", src);
		memcpy(name, c, len);
		name[len] = '\0';
		prefix[plen] = '/';
		memcpy(prefix + plen + 1, name, len + 1);
		plen += len + 1;
		int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && last && rw) {
			int r = make_rw_source(dir, name, w, src, err, errlen);
			if (r < 0)
				return r;
			fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0 && errno == ENOENT)
			return errbuf(-ENOENT, err, errlen, "mount %s: missing%s%s%s", src,
				      last ? "" : " (", last ? "" : prefix, last ? "" : " does not exist)");
		if (fd < 0)
			return errbuf(neg_errno(), err, errlen, "mount %s: %s: %s", src, prefix,
				      strerror(errno));
		close(dir);
		dir = fd;
		struct stat st;
		if (fstat(dir, &st) < 0)
			return errbuf(neg_errno(), err, errlen, "mount %s: %s", src, strerror(errno));
		int r = check_component(&st, w, last, src, prefix, err, errlen);
		if (r == 0 && last)
			r = check_source_access(dir, &st, w, rw, src, err, errlen);
		if (r < 0)
			return r;
		c += len + (last ? 0 : 1);
	}
	return take_fd(&dir);
}

/* "inside outside count" lines: every id maps to itself but a and b, which
 * trade places (a file of a shows as b, and what b writes is stored as a). */
static int swap_map(char *buf, size_t size, uint32_t a, uint32_t b)
{
	uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
	int n = 0;
	if (lo > 0)
		n += snprintf(buf + n, size - (size_t)n, "0 0 %u\n", lo);
	n += snprintf(buf + n, size - (size_t)n, "%u %u 1\n%u %u 1\n", lo, hi, hi, lo);
	if (hi - lo > 1)
		n += snprintf(buf + n, size - (size_t)n, "%u %u %u\n", lo + 1, lo + 1, hi - lo - 1);
	if (hi < UINT32_MAX - 1)
		n += snprintf(buf + n, size - (size_t)n, "%u %u %u\n", hi + 1, hi + 1,
			      UINT32_MAX - hi - 1);
	return (size_t)n < size ? 0 : -ENOBUFS;
}

static int write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	ssize_t len = (ssize_t)strlen(text);
	return write(fd, text, (size_t)len) == len ? 0 : neg_errno();
}

/* The user namespace whose maps make the idmapping (M4): a child enters a
 * new one, we write its maps and keep an fd of it; the child then exits. */
static int make_idmap(const struct mounts_who *w)
{
	char umap[256], gmap[256];
	if (w->owner_uid == w->uid || w->owner_gid == w->gid || w->owner_gid == 0 ||
	    swap_map(umap, sizeof(umap), w->owner_uid, w->uid) < 0 ||
	    swap_map(gmap, sizeof(gmap), w->owner_gid, w->gid) < 0)
		return -EINVAL;
	int sync[2];
	if (pipe2(sync, O_CLOEXEC) < 0)
		return neg_errno();
	pid_t pid = fork();
	if (pid < 0) {
		int r = neg_errno();
		close(sync[0]);
		close(sync[1]);
		return r;
	}
	if (pid == 0) {
		close(sync[0]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		(void)!write(sync[1], "", 1);
		pause();
		_exit(0);
	}
	close(sync[1]);
	char c;
	int r = read(sync[0], &c, 1) == 1 ? 0 : -ECHILD;
	close(sync[0]);
	if (r == 0)
		r = write_proc(pid, "uid_map", umap);
	if (r == 0)
		r = write_proc(pid, "gid_map", gmap);
	int ns = -1;
	if (r == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		ns = open(path, O_RDONLY | O_CLOEXEC);
		r = ns < 0 ? neg_errno() : 0;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? r : ns;
}

/* M3, M4: a detached clone of the checked directory, its attributes set. */
static int clone_tree(int src_fd, bool rw, int userns)
{
	int tree = open_tree(src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return neg_errno();
	struct mount_attr a = {
	    .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_IDMAP |
			(rw ? 0 : MOUNT_ATTR_RDONLY),
	    .userns_fd = (uint64_t)userns,
	};
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0) {
		int r = neg_errno();
		close(tree);
		return r;
	}
	return tree;
}

/* The fd on exactly `want` (close-on-exec), or -EBUSY. */
static int place_fd(int fd, int want)
{
	int r = fcntl(fd, F_DUPFD_CLOEXEC, want);
	int saved = errno;
	close(fd);
	if (r < 0)
		return -saved;
	if (r != want) {
		close(r);
		return -EBUSY;
	}
	return r;
}

static int prepare_one(const struct profile_mount *pm, const struct mounts_who *w, int userns,
		       int slot, struct extra_mount *m, char *err, size_t errlen)
{
	*m = (struct extra_mount){.rw = pm->rw, .tree_fd = -1};
	if (mounts_expand(pm->src, w, m->src, sizeof(m->src)) < 0 ||
	    mounts_expand(pm->dst, w, m->dst, sizeof(m->dst)) < 0 || !plain_relative(m->dst))
		return errbuf(-EINVAL, err, errlen, "mount %.60s:%.60s: cannot be expanded",
			      pm->src, pm->dst);
	_cleanup_close_ int src = open_source(m->src, w, m->rw, err, errlen);
	if (src < 0)
		return src;
	int tree = clone_tree(src, m->rw, userns);
	if (tree < 0)
		return errbuf(tree, err, errlen, "mount %s: %s", m->src,
			      tree == -EINVAL ? "its filesystem has no idmapped mounts"
					      : strerror(-tree));
	tree = place_fd(tree, SANDBOX_FD_BASE + slot);
	if (tree < 0)
		return errbuf(tree, err, errlen, "mount %s: no free fd %d", m->src,
			      SANDBOX_FD_BASE + slot);
	m->tree_fd = tree;
	return 0;
}

int mounts_prepare(const struct ephemera_profile *p, const struct mounts_who *w,
		   struct extra_mounts *ret, char *err, size_t errlen)
{
	ret->n = 0;
	if (p->n_mounts == 0)
		return 0;
	_cleanup_close_ int userns = make_idmap(w);
	if (userns < 0)
		return errbuf(userns, err, errlen, "mount: cannot make the id mapping: %s",
			      strerror(-userns));
	for (size_t i = 0; i < p->n_mounts; i++) {
		int r = prepare_one(&p->mounts[i], w, userns, (int)i, &ret->m[i], err, errlen);
		if (r < 0) {
			mounts_close(ret);
			return r;
		}
		ret->n = i + 1;
	}
	return 0;
}

void mounts_close(struct extra_mounts *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->m[i].tree_fd >= 0) {
			close(m->m[i].tree_fd);
			m->m[i].tree_fd = -1;
		}
	m->n = 0;
}

int mounts_probe(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	const struct mounts_who w = {.owner_uid = 1, .owner_gid = 1, .uid = 2, .gid = 2};
	_cleanup_close_ int ns = make_idmap(&w);
	if (ns < 0)
		return ns;
	int tree = clone_tree(fd, false, ns);
	if (tree < 0)
		return tree;
	close(tree); /* never attached: gone with its last fd */
	return 0;
}

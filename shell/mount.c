#include "shell/mount.h"

#include "common/util.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define RESOLVE_STRICT (RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

static int openat2_strict(int root_fd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_STRICT};
	int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	return fd < 0 ? neg_errno() : fd;
}

int mnt_resolve(int root_fd, const char *path, bool want_dir)
{
	return openat2_strict(root_fd, path, O_PATH | O_NOFOLLOW | (want_dir ? O_DIRECTORY : 0));
}

/* Splits "a/b/c" into the parent's fd (resolved strictly) and "c". */
static int open_parent(int root_fd, const char *path, char *leaf, size_t leafsz)
{
	char buf[4096];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	char *slash = strrchr(buf, '/');
	const char *name = slash ? slash + 1 : buf;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	if (snprintf(leaf, leafsz, "%s", name) >= (int)leafsz)
		return -ENAMETOOLONG;
	if (slash)
		*slash = '\0';
	/* O_PATH is not enough for mkdirat/symlinkat: open the directory itself. */
	return openat2_strict(root_fd, slash && buf[0] ? buf : "/",
			      O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
}

int mnt_mkdir(int root_fd, const char *path, mode_t mode)
{
	char leaf[256];
	_cleanup_close_ int dfd = open_parent(root_fd, path, leaf, sizeof(leaf));
	if (dfd < 0)
		return dfd;
	bool made = mkdirat(dfd, leaf, mode) == 0;
	if (!made && errno != EEXIST)
		return neg_errno();
	_cleanup_close_ int fd = openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno(); /* exists, but not as a directory */
	/* An existing directory may sit in a read-only tree: leave its mode. */
	return made && fchmod(fd, mode) < 0 ? neg_errno() : 0;
}

int mnt_mkfile(int root_fd, const char *path, mode_t mode)
{
	char leaf[256];
	_cleanup_close_ int dfd = open_parent(root_fd, path, leaf, sizeof(leaf));
	if (dfd < 0)
		return dfd;
	_cleanup_close_ int fd = openat(
	    dfd, leaf, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, mode);
	if (fd < 0)
		return neg_errno();
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	return S_ISREG(st.st_mode) ? 0 : -EEXIST;
}

int mnt_symlink(int root_fd, const char *target, const char *path)
{
	char leaf[256];
	_cleanup_close_ int dfd = open_parent(root_fd, path, leaf, sizeof(leaf));
	if (dfd < 0)
		return dfd;
	return symlinkat(target, dfd, leaf) < 0 ? neg_errno() : 0;
}

int mnt_write_file(int root_fd, const char *path, const char *content, mode_t mode)
{
	char leaf[256];
	_cleanup_close_ int dfd = open_parent(root_fd, path, leaf, sizeof(leaf));
	if (dfd < 0)
		return dfd;
	_cleanup_close_ int fd =
	    openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return neg_errno();
	size_t len = strlen(content);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, content + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		off += (size_t)n;
	}
	return fchmod(fd, mode) < 0 ? neg_errno() : 0;
}

static int set_attr(int tree_fd, unsigned attr, bool recursive)
{
	if (!attr)
		return 0;
	struct mount_attr a = {.attr_set = attr};
	unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
	return mount_setattr(tree_fd, "", flags, &a, sizeof(a)) < 0 ? neg_errno() : 0;
}

/* Puts a detached tree in place on dst, resolved strictly inside root. */
static int attach(int root_fd, int tree_fd, const char *dst)
{
	bool is_dir;
	struct stat st;
	if (fstat(tree_fd, &st) < 0)
		return neg_errno();
	is_dir = S_ISDIR(st.st_mode);
	_cleanup_close_ int target = mnt_resolve(root_fd, dst, is_dir);
	if (target < 0)
		return target;
	if (move_mount(tree_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return neg_errno();
	return 0;
}

int mnt_attach(int root_fd, int tree_fd, const char *dst)
{
	return tree_fd < 0 ? -EBADF : attach(root_fd, tree_fd, dst);
}

int mnt_bind(int root_fd, const char *src_path, int src_fd, const char *dst, bool recursive,
	     unsigned attr)
{
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
	_cleanup_close_ int tree = src_path
				       ? open_tree(AT_FDCWD, src_path, flags | AT_SYMLINK_NOFOLLOW)
				       : open_tree(src_fd, "", flags | AT_EMPTY_PATH);
	if (tree < 0)
		return neg_errno();
	int r = set_attr(tree, attr, recursive);
	return r < 0 ? r : attach(root_fd, tree, dst);
}

/* options: "key=value,key=value" or "flag" entries, handed to fsconfig. */
static int configure_fs(int fs, const char *options)
{
	char buf[256];
	if (!options || !*options)
		return 0;
	if (snprintf(buf, sizeof(buf), "%s", options) >= (int)sizeof(buf))
		return -E2BIG;
	char *save = NULL;
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		int rc;
		if (eq) {
			*eq = '\0';
			rc = fsconfig(fs, FSCONFIG_SET_STRING, kv, eq + 1, 0);
		} else {
			rc = fsconfig(fs, FSCONFIG_SET_FLAG, kv, NULL, 0);
		}
		if (rc < 0)
			return neg_errno();
	}
	return 0;
}

static int make_fs(const char *fstype, const char *options, unsigned attr)
{
	_cleanup_close_ int fs = fsopen(fstype, FSOPEN_CLOEXEC);
	if (fs < 0)
		return neg_errno();
	int r = configure_fs(fs, options);
	if (r < 0)
		return r;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return neg_errno();
	int mnt = fsmount(fs, FSMOUNT_CLOEXEC, attr);
	return mnt < 0 ? neg_errno() : mnt;
}

int mnt_fresh(int root_fd, const char *fstype, const char *options, const char *dst, unsigned attr)
{
	_cleanup_close_ int mnt = make_fs(fstype, options, attr);
	if (mnt < 0)
		return mnt;
	return attach(root_fd, mnt, dst);
}

int mnt_remount_ro(int root_fd, const char *dst)
{
	_cleanup_close_ int src = mnt_resolve(root_fd, dst, true);
	if (src < 0)
		return src;
	return mnt_bind(root_fd, NULL, src, dst, true,
			MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			    MOUNT_ATTR_NOEXEC);
}

int mnt_new_root(int at_fd, const char *options)
{
	int mnt = make_fs("tmpfs", options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return mnt;
	if (move_mount(mnt, "", at_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		int r = neg_errno();
		close(mnt);
		return r;
	}
	return mnt;
}

int mnt_pivot(int root_fd)
{
	/* Make / read-only first: the session may not create files at the top. */
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
	if (mount_setattr(root_fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return neg_errno();
	if (fchdir(root_fd) < 0)
		return neg_errno();
	/* pivot_root(".", "."): the old root ends up stacked under the new one,
	 * where a lazy unmount of "." detaches it without needing a directory. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return neg_errno();
	if (umount2(".", MNT_DETACH) < 0)
		return neg_errno();
	return chdir("/") < 0 ? neg_errno() : 0;
}

#include "allocator/home.h"

#include "allocator/rmtree.h"
#include "common/util.h"

#include <acl/libacl.h>
#include <fcntl.h>
#include <stdio.h>
#include <inttypes.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

int home_open_sessions_dir(const char *path, bool for_new_sessions)
{
	if (mkdir(path, 0711) == 0) {
		/* umask may have taken bits: set the mode we mean. */
		if (chmod(path, 0711) < 0)
			return neg_errno();
	} else if (errno != EEXIST) {
		return neg_errno();
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = neg_errno();
		close(fd);
		return r;
	}
	if (st.st_uid != 0 || (st.st_mode & 0022)) {
		close(fd);
		return -EPERM;
	}
	/* A setuid file a session leaves in its output must not run as the
	 * session's UID on the host, outside every sandbox: refuse a sessions
	 * filesystem that honours setuid bits or device nodes. */
	struct statvfs vfs;
	if (for_new_sessions && (fstatvfs(fd, &vfs) < 0 ||
				 (vfs.f_flag & (ST_NOSUID | ST_NODEV)) != (ST_NOSUID | ST_NODEV))) {
		close(fd);
		return -ENOEXEC;
	}
	/* 0711: others may reach their own session by name but list none. */
	if ((st.st_mode & 07777) != 0711 && fchmod(fd, 0711) < 0) {
		int r = neg_errno();
		close(fd);
		return r;
	}
	return fd;
}

static int set_acl(int fd, acl_type_t type, uid_t owner_uid, const char *owner_perms)
{
	char text[128];
	snprintf(text, sizeof(text), "u::rwx,g::---,o::---,u:%u:%s,m::%s", (unsigned)owner_uid,
		 owner_perms, owner_perms);
	acl_t acl = acl_from_text(text);
	if (!acl)
		return neg_errno();
	int rc;
	if (type == ACL_TYPE_ACCESS) {
		rc = acl_set_fd(fd, acl);
	} else {
		/* libacl has no fd call for the default ACL: go through our own fd. */
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		rc = acl_set_file(path, type, acl);
	}
	int r = rc < 0 ? neg_errno() : 0;
	acl_free(acl);
	return r;
}

/* mkdirat + open the new directory + set owner and mode, all on the fd. */
static int make_dir(int dfd, const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	if (mkdirat(dfd, name, 0700) < 0)
		return neg_errno();
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0) {
		int r = neg_errno();
		close(fd);
		return r;
	}
	return fd;
}

/* The home is root's, and the session writes to it through a named ACL
 * entry: only the owner of an inode may chmod it or change its ACL, so the
 * session cannot open its home to other local users (chmod 0777 ~), and what
 * it opens below the home stays behind a door only it and the owner pass. */
static int set_home_acl(int fd, uid_t uid, uid_t owner_uid)
{
	char text[128];
	snprintf(text, sizeof(text), "u::rwx,g::---,o::---,u:%u:rwx,u:%u:r-x,m::rwx", (unsigned)uid,
		 (unsigned)owner_uid);
	acl_t acl = acl_from_text(text);
	if (!acl)
		return neg_errno();
	int r = acl_set_fd(fd, acl) < 0 ? neg_errno() : 0;
	acl_free(acl);
	return r;
}

/* mnt/output: the session's, with the owner's ACL and default ACL. */
static int make_output(int dfd, const char *name, uid_t uid, gid_t gid, uid_t owner)
{
	_cleanup_close_ int out = make_dir(dfd, name, 0700, uid, gid);
	if (out < 0)
		return out;
	int r = set_acl(out, ACL_TYPE_ACCESS, owner, "rwx");
	return r < 0 ? r : set_acl(out, ACL_TYPE_DEFAULT, owner, "rwx");
}

/* The home's ACL, mnt, and in it output (or, for a tmpfs home, the empty
 * directory the output is bound on) and upload. */
static int fill_home(int home, uid_t uid, gid_t gid, uid_t owner, bool output)
{
	int r = set_home_acl(home, uid, owner);
	if (r < 0)
		return r;
	_cleanup_close_ int mnt = make_dir(home, "mnt", 0755, uid, gid);
	if (mnt < 0)
		return mnt;
	if (output)
		r = make_output(mnt, "output", uid, gid, owner);
	else if (mkdirat(mnt, "output", 0700) < 0)
		r = neg_errno();
	if (r < 0)
		return r;
	_cleanup_close_ int up = make_dir(mnt, "upload", 0755, owner, gid);
	return up < 0 ? up : 0;
}

static int create_layout(int sessions_fd, const char *name, uid_t uid, gid_t gid, uid_t owner)
{
	_cleanup_close_ int home = make_dir(sessions_fd, name, 0700, 0, 0);
	if (home < 0)
		return home;
	return fill_home(home, uid, gid, owner, true);
}

/* ---- home = tmpfs:SIZE ---- */

/* <sessions>/.output, root's 0700: the outputs of running tmpfs homes. */
static int open_outputs(int sessions_fd, bool create)
{
	if (create && mkdirat(sessions_fd, HOME_OUTPUTS, 0700) < 0 && errno != EEXIST)
		return neg_errno();
	int fd = openat(sessions_fd, HOME_OUTPUTS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = neg_errno();
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (st.st_uid != 0 || (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static int new_tmpfs(uint64_t size)
{
	_cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	char val[32];
	snprintf(val, sizeof(val), "%" PRIu64, size);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "size", val, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return neg_errno();
	int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	return mnt < 0 ? neg_errno() : mnt;
}

/* Attaches tree (a detached mount) on dfd/name, by fd. */
static int attach_on(int tree, int dfd, const char *name)
{
	_cleanup_close_ int at = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (at < 0)
		return neg_errno();
	return move_mount(tree, "", at, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0
		   ? neg_errno()
		   : 0;
}

/* The tmpfs with the layout made while it is still detached (nobody can
 * see it), then put on the home; then the output, on disk, bound in. */
static int create_tmpfs_layout(int sessions_fd, const char *name, uid_t uid, gid_t gid,
			       uid_t owner, uint64_t size)
{
	/* The home's directory first: a crash after it leaves a home that
	 * alloc_repair finds, and its home_remove takes the output too. */
	_cleanup_close_ int stub = make_dir(sessions_fd, name, 0700, 0, 0);
	if (stub < 0)
		return stub;
	_cleanup_close_ int outs = open_outputs(sessions_fd, true);
	if (outs < 0)
		return outs;
	int r = make_output(outs, name, uid, gid, owner);
	if (r < 0)
		return r;
	_cleanup_close_ int tmpfs = new_tmpfs(size);
	if (tmpfs < 0)
		return tmpfs;
	_cleanup_close_ int root = openat(tmpfs, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return neg_errno();
	if ((r = fill_home(root, uid, gid, owner, false)) < 0 ||
	    (r = attach_on(tmpfs, sessions_fd, name)) < 0)
		return r;
	_cleanup_close_ int out = open_tree(outs, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
							    AT_SYMLINK_NOFOLLOW);
	if (out < 0)
		return neg_errno();
	_cleanup_close_ int home = openat(sessions_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
							      O_CLOEXEC);
	_cleanup_close_ int mnt =
	    home < 0 ? -1 : openat(home, "mnt", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (mnt < 0)
		return neg_errno();
	return attach_on(out, mnt, "output");
}

int home_create_tmpfs(int sessions_fd, const char *name, uid_t uid, gid_t gid, uid_t owner_uid,
		      uint64_t size)
{
	int r = create_tmpfs_layout(sessions_fd, name, uid, gid, owner_uid, size);
	if (r < 0 && r != -EEXIST)
		(void)home_remove(sessions_fd, name);
	return r;
}

int home_detach(int sessions_fd, const char *name)
{
	for (int i = 0; i < 8; i++) { /* stacked mounts, one a round */
		_cleanup_close_ int fd = openat(sessions_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct statx stx;
		if (fd < 0)
			return errno == ENOENT ? 0 : neg_errno();
		if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
			return neg_errno();
		if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
			return -EOPNOTSUPP;
		if (!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
			return 0;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (umount2(path, MNT_DETACH) < 0)
			return neg_errno();
	}
	return -ELOOP;
}

int home_output_restore(int sessions_fd, const char *name)
{
	_cleanup_close_ int outs = open_outputs(sessions_fd, false);
	if (outs == -ENOENT)
		return 0;
	if (outs < 0)
		return outs;
	struct stat st;
	if (fstatat(outs, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : neg_errno(); /* a disk home, or moved before */
	if (mkdirat(sessions_fd, name, 0700) < 0 && errno != EEXIST)
		return neg_errno();
	_cleanup_close_ int home =
	    openat(sessions_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (home < 0)
		return neg_errno();
	if (mkdirat(home, "mnt", 0755) < 0 && errno != EEXIST)
		return neg_errno();
	_cleanup_close_ int mnt = openat(home, "mnt", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (mnt < 0)
		return neg_errno();
	/* Same filesystem: one atomic rename, so a reaper killed around it
	 * finds the output in one place or the other (P5). */
	return renameat2(outs, name, mnt, "output", RENAME_NOREPLACE) < 0 ? neg_errno() : 0;
}

int home_create(int sessions_fd, const char *name, uid_t uid, gid_t gid, uid_t owner_uid)
{
	int r = create_layout(sessions_fd, name, uid, gid, owner_uid);
	if (r < 0 && r != -EEXIST)
		(void)home_remove(sessions_fd, name); /* no half homes */
	return r;
}

int home_remove(int sessions_fd, const char *name)
{
	int r = home_detach(sessions_fd, name);
	if (r == 0)
		r = rmtree_at(sessions_fd, name, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	_cleanup_close_ int outs = open_outputs(sessions_fd, false);
	if (outs == -ENOENT)
		return 0;
	r = outs < 0 ? outs : rmtree_at(outs, name, NULL);
	return r == -ENOENT ? 0 : r;
}

int home_restore_access(int home_fd, int mnt_fd, uid_t owner_uid)
{
	if (fchown(home_fd, 0, 0) < 0)
		return neg_errno();
	if (mnt_fd < 0)
		return set_acl(home_fd, ACL_TYPE_ACCESS, owner_uid, "r-x");
	if (fchown(mnt_fd, 0, 0) < 0 || fchmod(mnt_fd, 0755) < 0)
		return neg_errno();
	/* mnt had no ACL of ours; whatever the session put there goes. */
	acl_t plain = acl_from_mode(0755);
	if (!plain)
		return neg_errno();
	int r = acl_set_fd(mnt_fd, plain) < 0 ? neg_errno() : 0;
	acl_free(plain);
	if (r < 0)
		return r;
	return set_acl(home_fd, ACL_TYPE_ACCESS, owner_uid, "r-x");
}

const char *home_strerror(int r)
{
	if (r == -EPERM)
		return "must be owned by root and writable by root alone";
	if (r == -ENOEXEC)
		return "must be on a filesystem mounted nosuid,nodev";
	return strerror(-r);
}

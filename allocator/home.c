#include "allocator/home.h"

#include "allocator/rmtree.h"
#include "common/util.h"

#include <acl/libacl.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/acl.h>
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

static int create_layout(int sessions_fd, const char *name, uid_t uid, gid_t gid, uid_t owner)
{
	_cleanup_close_ int home = make_dir(sessions_fd, name, 0700, 0, 0);
	if (home < 0)
		return home;
	int r = set_home_acl(home, uid, owner);
	if (r < 0)
		return r;
	_cleanup_close_ int mnt = make_dir(home, "mnt", 0755, uid, gid);
	if (mnt < 0)
		return mnt;
	_cleanup_close_ int out = make_dir(mnt, "output", 0700, uid, gid);
	if (out < 0)
		return out;
	if ((r = set_acl(out, ACL_TYPE_ACCESS, owner, "rwx")) < 0 ||
	    (r = set_acl(out, ACL_TYPE_DEFAULT, owner, "rwx")) < 0)
		return r;
	_cleanup_close_ int up = make_dir(mnt, "upload", 0755, owner, gid);
	return up < 0 ? up : 0;
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
	int r = rmtree_at(sessions_fd, name, NULL);
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

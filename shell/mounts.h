/* A profile's extra mounts (mount = ro|rw:SOURCE:PATH, ephemera.conf(5)),
 * made ready by the setuid shell before any namespace exists.
 *
 * Invariants (tests/e2e/profile-mounts.t):
 *  M1 a source is opened one component at a time from "/", O_PATH|O_NOFOLLOW,
 *     and a symbolic link anywhere on its path refuses the login: no link is
 *     ever followed, whoever owns it;
 *  M2 every component is a directory owned by root or the owner; the source
 *     itself is not writable by others (nor, for rw, by its group);
 *  M3 the tree bound is the very directory checked: it is cloned from the fd
 *     the walk ended on (open_tree), never looked up again by path;
 *  M4 the clone is made nosuid,nodev (and read-only for ro) and idmapped: the
 *     owner's uid and primary gid appear as the session's, and what the
 *     session writes is stored as the owner's, so the next session of the
 *     same owner (another transient UID) reads and changes it as its own;
 *  M5 a missing rw source is made (root's, 0700, an ACL entry for the owner)
 *     only when its parent is root's and writable by root alone; a missing
 *     ro source, or any missing parent, refuses the login. */
#ifndef EPHEMERA_SHELL_MOUNTS_H
#define EPHEMERA_SHELL_MOUNTS_H

#include "common/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct extra_mount {
	char src[256]; /* expanded host path, for messages and the printed plan */
	char dst[256]; /* expanded path relative to the home */
	bool rw;
	int tree_fd; /* a detached, idmapped clone of src; -1 when none */
};

struct extra_mounts {
	struct extra_mount m[PROFILE_MAX_MOUNTS];
	size_t n;
};

struct mounts_who {
	const char *owner;  /* %u */
	uid_t owner_uid;
	gid_t owner_gid;    /* the owner's primary group */
	const char *session; /* %n */
	uid_t uid;	     /* the session's transient user */
	gid_t gid;
};

/* pattern with %u, %n and %% expanded; -EINVAL for another %, -ENAMETOOLONG. */
int mounts_expand(const char *pattern, const struct mounts_who *w, char *out, size_t outsz);

/* Checks and clones every mount of profile p.  The trees' fds land on
 * SANDBOX_FD_BASE, SANDBOX_FD_BASE + 1, ... (sandbox.h), which the launcher
 * keeps open into pid 1.  On failure returns -errno with
 * "mount SOURCE: why" in err, and nothing is left open. */
int mounts_prepare(const struct ephemera_profile *p, const struct mounts_who *w,
		   struct extra_mounts *ret, char *err, size_t errlen);
void mounts_close(struct extra_mounts *m);

/* For ephemeractl doctor: 0 when an idmapped clone of directory dir can be
 * made (nothing is mounted), else -errno (-EINVAL: the filesystem cannot). */
int mounts_probe(const char *dir);

#endif

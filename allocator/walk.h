/* Walking a tree that an untrusted user may have shaped, for removing it
 * (rmtree.h) and for handing it over (reaper.c).
 *
 * Invariants (each has a test in tests/unit/test-rmtree.c):
 *  R1 never follows a symlink: every descent is openat(O_NOFOLLOW|O_DIRECTORY)
 *     and the opened directory must be the one statx() saw (dev, inode, mount);
 *  R2 never crosses a mount point: an entry on another device, on another
 *     mount (statx mnt_id) or at the root of a mount (a bind mount of the same
 *     filesystem) is left alone and reported through *ret_crossed;
 *  R3 never recurses on the C stack and holds three fds at most: the way back
 *     up is "..", checked against the recorded parent, so 100,000 levels are
 *     fine; a walk that may move entries (rmtree) renames directories deeper
 *     than 128 levels up to the top and walks them from there, because each
 *     ".." on a bind mount costs O(depth) (walk.c has the figures);
 *  R4 never opens anything but directories, with O_NONBLOCK (a FIFO cannot hang it);
 *  R5 (rmtree) directories are made writable (0700) before they are emptied.
 * The names of a directory are read in full when it is entered, so a callback
 * may remove entries as it goes. */
#ifndef EPHEMERA_WALK_H
#define EPHEMERA_WALK_H

#include <stdbool.h>
#include <sys/stat.h>

struct walk_ops {
	/* A non-directory entry of dir_fd.  st has mode, uid, gid, dev, ino,
	 * blocks -- or is NULL when leaf_needs_stat is false and the directory
	 * already said the entry is no directory. */
	int (*leaf)(void *ctx, int dir_fd, const char *name, const struct stat *st);
	/* A directory just opened, before its entries. */
	int (*enter)(void *ctx, int fd, const struct stat *st);
	/* A directory whose entries are done, named in its parent. */
	int (*leave)(void *ctx, int parent_fd, const char *name, const struct stat *st);
	/* An entry left alone because it is (on) another mount (R2). */
	void (*crossed)(void *ctx, int dir_fd, const char *name);
	void *ctx;
	bool leaf_needs_stat;
	/* The walk may rename deep directories to ".ephemera-deep-N" in the top
	 * directory (R3): only for a tree that is being removed as a whole. */
	bool may_move_deep;
};

/* Walks parent_fd/name (a plain component).  Returns 0, -ESTALE when the tree
 * moved under it, -EXDEV when the top itself is a mount, a callback's error,
 * or another -errno.  *ret_crossed (may be NULL) says whether a mount was
 * skipped. */
int walk_tree(int parent_fd, const char *name, const struct walk_ops *ops, bool *ret_crossed);

#endif

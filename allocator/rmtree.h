/* Removing a tree that an untrusted user may have shaped.
 *
 * Invariants (each has a test in tests/unit/test-rmtree.c):
 *  R1 never follows a symlink: every descent is openat(O_NOFOLLOW|O_DIRECTORY)
 *     and the opened directory must be the one fstatat() saw (dev and inode);
 *  R2 never crosses a mount point: an entry on another device, on another
 *     mount (statx mnt_id) or at the root of a mount (a bind mount of the same
 *     filesystem) is left alone and the removal reports -EXDEV at the end;
 *  R3 never recurses on the C stack and holds two fds at most: the way back up
 *     is "..", checked against the recorded parent, so 100,000 levels are fine;
 *  R4 never opens anything but directories, with O_NONBLOCK (a FIFO cannot hang it);
 *  R5 directories are made writable (0700) before they are emptied.
 */
#ifndef EPHEMERA_RMTREE_H
#define EPHEMERA_RMTREE_H

#include <stdint.h>

struct rmtree_stats {
	uint64_t files; /* non-directories and directories removed */
	uint64_t bytes; /* st_blocks * 512 of the non-directories removed */
};

/* Removes parent_fd/name and everything below it (name must be a plain
 * component).  Returns 0, -EXDEV when something on another filesystem was
 * left in place, -ESTALE when the tree moved under it, or another -errno.
 * ret_stats (may be NULL) counts what was removed, even on failure. */
int rmtree_at(int parent_fd, const char *name, struct rmtree_stats *ret_stats);

#endif

/* Removing a tree that an untrusted user may have shaped: walk_tree() (see
 * walk.h for invariants R1-R5, each tested in tests/unit/test-rmtree.c) with
 * unlinking as the callbacks. */
#ifndef EPHEMERA_RMTREE_H
#define EPHEMERA_RMTREE_H

#include <stdint.h>

struct rmtree_stats {
	uint64_t files; /* non-directories and directories removed */
	uint64_t bytes; /* freed on the filesystem, as statfs saw it before and
			 * after: an estimate when others write to it meanwhile */
};

/* Removes parent_fd/name and everything below it (name must be a plain
 * component).  Returns 0, -EXDEV when something on another filesystem was
 * left in place, -ESTALE when the tree moved under it, or another -errno.
 * ret_stats (may be NULL) counts what was removed, even on failure. */
int rmtree_at(int parent_fd, const char *name, struct rmtree_stats *ret_stats);

#endif

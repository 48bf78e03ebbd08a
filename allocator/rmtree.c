/* rmtree: walk_tree with removal as the callbacks (walk.h has the rules). */
#include "allocator/rmtree.h"

#include "allocator/walk.h"
#include "common/util.h"

#include <fcntl.h>
#include <sys/vfs.h>
#include <stdbool.h>

struct rm_ctx {
	struct rmtree_stats stats;
	bool crossed_so_far;
};

static int rm_leaf(void *ctx, int dir_fd, const char *name, const struct stat *st)
{
	struct rm_ctx *c = ctx;
	(void)st;
	if (unlinkat(dir_fd, name, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == EISDIR)
			return -EISDIR; /* the directory's d_type was wrong: walk it */
		if (errno == EBUSY) {	/* a file bind-mounted over: not ours, leave it */
			c->crossed_so_far = true;
			return 0;
		}
		return neg_errno();
	}
	c->stats.files++;
	return 0;
}

/* R5: root is not stopped by modes, but make the intent explicit and keep
 * unlinkat working where modes are checked (a chmod 000 directory). */
static int rm_enter(void *ctx, int fd, const struct stat *st)
{
	(void)ctx;
	if ((st->st_mode & 0700) != 0700 && fchmod(fd, 0700) < 0)
		return neg_errno();
	return 0;
}

static int rm_leave(void *ctx, int parent_fd, const char *name, const struct stat *st)
{
	struct rm_ctx *c = ctx;
	(void)st;
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) == 0) {
		c->stats.files++;
		return 0;
	}
	/* A skipped mount point inside keeps it non-empty: reported at the end. */
	if (errno == ENOENT || ((errno == ENOTEMPTY || errno == EBUSY) && c->crossed_so_far))
		return 0;
	return neg_errno();
}

static void rm_crossed(void *ctx, int dir_fd, const char *name)
{
	(void)dir_fd;
	(void)name;
	((struct rm_ctx *)ctx)->crossed_so_far = true;
}

int rmtree_at(int parent_fd, const char *name, struct rmtree_stats *ret_stats)
{
	struct rm_ctx c = {0};
	struct walk_ops ops = {rm_leaf, rm_enter, rm_leave, rm_crossed, &c, false, true};
	bool crossed = false;
	/* Bytes freed as the filesystem counts them: a statx of every leaf just
	 * to add up st_blocks would make the wipe a third slower. */
	struct statfs before, after;
	bool counted = fstatfs(parent_fd, &before) == 0;
	int r = walk_tree(parent_fd, name, &ops, &crossed);
	if (counted && fstatfs(parent_fd, &after) == 0 && after.f_bfree > before.f_bfree)
		c.stats.bytes =
		    (uint64_t)(after.f_bfree - before.f_bfree) * (uint64_t)before.f_frsize;
	if (ret_stats)
		*ret_stats = c.stats;
	if (r == 0 && (crossed || c.crossed_so_far))
		return -EXDEV;
	return r;
}

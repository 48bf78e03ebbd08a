#include "allocator/walk.h"

#include "common/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

/* One directory being walked: how we got here and what is left to do. */
struct frame {
	char *name; /* in the parent */
	struct stat st;
	char **pending; /* entries read at entry: d_type byte, then the name */
	size_t n, next, cap;
};

/* Below this depth a walk that may move entries (walk_ops.may_move_deep)
 * renames a directory up to the top instead of descending into it.  Why: on
 * a bind mount whose root is not its filesystem's root, every ".." costs the
 * kernel a walk up to the mount root (follow_dotdot -> path_connected ->
 * is_subdir), so climbing a chain N deep costs O(N^2): 269 s for 100,000
 * levels.  Cut into pieces of at most WALK_MOVE_DEPTH levels it is O(N). */
#define WALK_MOVE_DEPTH 128
#define WALK_MOVE_TRIES 64

struct walk {
	struct frame *frames;
	size_t depth, cap;
	dev_t root_dev;
	uint64_t root_mnt_id;
	bool crossed;
	const struct walk_ops *ops;
	int top_fd;	   /* the top directory, for moving deep entries up */
	unsigned long moved; /* how many were, for their names */
};

/* statx plus what R2 needs: the mount an entry is on, and whether it is the
 * root of a mount (a bind mount of the same filesystem has the same st_dev). */
struct entry {
	struct stat st;
	uint64_t mnt_id;
	bool mount_root;
};

static int stat_entry(int dfd, const char *name, struct entry *e)
{
	struct statx stx;
	int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (name[0] ? 0 : AT_EMPTY_PATH);
	if (statx(dfd, name, flags, STATX_BASIC_STATS | STATX_MNT_ID, &stx) < 0)
		return neg_errno();
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP; /* cannot tell mounts apart: do not guess */
	*e = (struct entry){
	    .mnt_id = stx.stx_mnt_id,
	    .mount_root = (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
			  (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT),
	};
	e->st.st_mode = stx.stx_mode;
	e->st.st_uid = stx.stx_uid;
	e->st.st_gid = stx.stx_gid;
	e->st.st_nlink = stx.stx_nlink;
	e->st.st_size = (off_t)stx.stx_size;
	e->st.st_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	e->st.st_ino = stx.stx_ino;
	e->st.st_blocks = (blkcnt_t)stx.stx_blocks;
	return 0;
}

static void frame_free(struct frame *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->pending[i]);
	free(f->pending);
	free(f->name);
}

/* R4: only directories are ever opened.  O_DIRECTORY already refuses a FIFO
 * swapped in between the stat and the open; O_NONBLOCK is the second belt. */
static int open_dir_at(int dfd, const char *name, const struct entry *expect)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	struct entry got;
	if (stat_entry(fd, "", &got) < 0 || got.st.st_dev != expect->st.st_dev ||
	    got.st.st_ino != expect->st.st_ino || got.mnt_id != expect->mnt_id) {
		close(fd);
		return -ESTALE; /* R1: what we opened is not what we looked at */
	}
	return fd;
}

static int add_name(struct frame *f, const char *name, unsigned char type)
{
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 16;
		char **p = realloc(f->pending, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		f->pending = p;
		f->cap = ncap;
	}
	size_t len = strlen(name);
	char *e = malloc(len + 2);
	if (!e)
		return -ENOMEM;
	e[0] = (char)type;
	memcpy(e + 1, name, len + 1);
	f->pending[f->n] = e;
	f->n++;
	return 0;
}

/* Read all names of the directory now; the fd stays ours (dup for fdopendir). */
static int read_entries(int fd, struct frame *f)
{
	int dfd = dup(fd); /* fdopendir takes ownership */
	if (dfd < 0)
		return neg_errno();
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return neg_errno();
	}
	struct dirent *de;
	int r = 0;
	errno = 0;
	while (r == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = add_name(f, de->d_name, de->d_type);
	if (r == 0 && errno != 0)
		r = neg_errno();
	closedir(d);
	return r;
}

static int push(struct walk *w, int fd, const char *name, const struct stat *st)
{
	if (w->depth == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 64;
		struct frame *p = realloc(w->frames, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		w->frames = p;
		w->cap = ncap;
	}
	struct frame *f = &w->frames[w->depth];
	*f = (struct frame){.name = strdup(name), .st = *st};
	if (!f->name)
		return -ENOMEM;
	int r = w->ops->enter ? w->ops->enter(w->ops->ctx, fd, st) : 0;
	if (r == 0)
		r = read_entries(fd, f);
	if (r < 0) {
		frame_free(f);
		return r;
	}
	w->depth++;
	return 0;
}

/* Renames dir_fd/name to a fresh name in the top directory and queues it
 * there, so that it is walked later from depth 1.  Only the entry itself is
 * renamed (rename never follows a symlink), within one mount (both fds were
 * checked to be on the walk's mount), without replacing anything; whatever
 * is at the new name is checked again like any other entry when its turn
 * comes.  Any failure returns < 0 and the caller simply descends. */
static int move_up(struct walk *w, int dir_fd, const char *name)
{
	for (int i = 0; i < WALK_MOVE_TRIES; i++) {
		char up[64];
		snprintf(up, sizeof(up), ".ephemera-deep-%lu", w->moved++);
		if (renameat2(dir_fd, name, w->top_fd, up, RENAME_NOREPLACE) == 0)
			return add_name(&w->frames[0], up, DT_DIR);
		if (errno != EEXIST)
			return neg_errno();
	}
	return -EEXIST;
}

/* One entry of the top frame: a leaf for the callback, or a directory to enter
 * (then *fd becomes the child's fd).  When the directory says what type the
 * entry is and the callback needs no stat of leaves, a leaf costs no statx:
 * that is what keeps a wipe as fast as rm -rf.  A non-directory cannot be
 * descended into, so no R1/R2 check is lost; a leaf callback that finds a
 * directory after all (-EISDIR) gets the full path below. */
static int step(struct walk *w, int *fd, const char *entry)
{
	unsigned char type = (unsigned char)entry[0];
	const char *name = entry + 1;
	if (!w->ops->leaf_needs_stat && type != DT_UNKNOWN && type != DT_DIR && w->ops->leaf) {
		int k = w->ops->leaf(w->ops->ctx, *fd, name, NULL);
		if (k != -EISDIR)
			return k;
	}
	struct entry e;
	int r = stat_entry(*fd, name, &e);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	if (e.st.st_dev != w->root_dev || e.mnt_id != w->root_mnt_id || e.mount_root) {
		w->crossed = true; /* R2: another filesystem, or a (bind) mount of this one */
		if (w->ops->crossed)
			w->ops->crossed(w->ops->ctx, *fd, name);
		return 0;
	}
	if (!S_ISDIR(e.st.st_mode))
		return w->ops->leaf ? w->ops->leaf(w->ops->ctx, *fd, name, &e.st) : 0;
	if (w->ops->may_move_deep && w->depth >= WALK_MOVE_DEPTH && move_up(w, *fd, name) == 0)
		return 0;
	int child = open_dir_at(*fd, name, &e);
	if (child < 0)
		return child;
	r = push(w, child, name, &e.st);
	if (r < 0) {
		close(child);
		return r;
	}
	close(*fd);
	*fd = child;
	return 0;
}

/* The top frame is done: go up through "..", check it is the parent we came
 * from, tell the callback.  *fd becomes the parent's fd. */
static int pop(struct walk *w, int *fd, int top_parent_fd)
{
	struct frame *f = &w->frames[w->depth - 1];
	int parent;
	if (w->depth == 1) {
		parent = top_parent_fd;
	} else {
		const struct frame *p = &w->frames[w->depth - 2];
		parent = openat(*fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (parent < 0)
			return neg_errno();
		struct stat st;
		if (fstat(parent, &st) < 0 || st.st_dev != p->st.st_dev ||
		    st.st_ino != p->st.st_ino) {
			close(parent);
			return -ESTALE; /* R3: someone moved the tree */
		}
	}
	close(*fd);
	*fd = parent;
	int r = w->ops->leave ? w->ops->leave(w->ops->ctx, parent, f->name, &f->st) : 0;
	frame_free(f);
	w->depth--;
	return r;
}

int walk_tree(int parent_fd, const char *name, const struct walk_ops *ops, bool *ret_crossed)
{
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	struct entry top;
	int r = stat_entry(parent_fd, name, &top);
	if (r < 0)
		return r;
	if (top.mount_root)
		return -EXDEV; /* the top itself is a mount: nothing of it is ours */
	if (!S_ISDIR(top.st.st_mode))
		return ops->leaf ? ops->leaf(ops->ctx, parent_fd, name, &top.st) : 0;
	struct walk w = {.root_dev = top.st.st_dev, .root_mnt_id = top.mnt_id, .ops = ops};
	int fd = open_dir_at(parent_fd, name, &top);
	if (fd < 0)
		return fd;
	w.top_fd = ops->may_move_deep ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (ops->may_move_deep && w.top_fd < 0) {
		r = neg_errno();
		close(fd);
		return r;
	}
	r = push(&w, fd, name, &top.st);
	while (r == 0 && w.depth > 0) {
		struct frame *f = &w.frames[w.depth - 1];
		if (f->next < f->n)
			r = step(&w, &fd, f->pending[f->next++]);
		else
			r = pop(&w, &fd, parent_fd);
	}
	if (fd >= 0 && fd != parent_fd)
		close(fd);
	while (w.depth > 0)
		frame_free(&w.frames[--w.depth]);
	free(w.frames);
	if (w.top_fd >= 0)
		close(w.top_fd);
	if (ret_crossed)
		*ret_crossed = w.crossed;
	return r;
}

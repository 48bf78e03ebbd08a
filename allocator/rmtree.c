#include "allocator/rmtree.h"

#include "common/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

/* One directory being emptied: how we got here and what is left to do. */
struct frame {
	char *name; /* in the parent */
	dev_t dev;
	ino_t ino;
	char **pending; /* entries read at entry, removed one by one */
	size_t n, next;
};

struct walk {
	struct frame *frames;
	size_t depth, cap;
	dev_t root_dev;
	bool crossed; /* something on another device was skipped */
	struct rmtree_stats stats;
};

static void frame_free(struct frame *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->pending[i]);
	free(f->pending);
	free(f->name);
}

/* R4: only directories are ever opened; O_NONBLOCK guards against a FIFO swapped
 * in between fstatat and openat (O_DIRECTORY then fails, but without blocking). */
static int open_dir_at(int dfd, const char *name, const struct stat *expect)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_dev != expect->st_dev || st.st_ino != expect->st_ino) {
		close(fd);
		return -ESTALE; /* R1: what we opened is not what we looked at */
	}
	return fd;
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
	size_t cap = 0;
	struct dirent *de;
	int r = 0;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (f->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **p = realloc(f->pending, ncap * sizeof(*p));
			if (!p) {
				r = -ENOMEM;
				break;
			}
			f->pending = p;
			cap = ncap;
		}
		if (!(f->pending[f->n] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		f->n++;
	}
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
	*f = (struct frame){ .name = strdup(name), .dev = st->st_dev, .ino = st->st_ino };
	if (!f->name)
		return -ENOMEM;
	/* R5: root is not stopped by modes, but make the intent explicit and keep
	 * unlinkat working on filesystems that check (and on a chmod 000 dir). */
	if ((st->st_mode & 0700) != 0700 && fchmod(fd, 0700) < 0) {
		frame_free(f);
		return neg_errno();
	}
	int r = read_entries(fd, f);
	if (r < 0) {
		frame_free(f);
		return r;
	}
	w->depth++;
	return 0;
}

/* Handle one entry of the top frame: unlink it, or descend into it.  On descent
 * *fd is replaced by the child's fd. */
static int step(struct walk *w, int *fd, const char *name)
{
	struct stat st;
	if (fstatat(*fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : neg_errno();
	if (st.st_dev != w->root_dev) {
		w->crossed = true; /* R2 */
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(*fd, name, 0) < 0)
			return errno == ENOENT ? 0 : neg_errno();
		w->stats.files++;
		w->stats.bytes += (uint64_t)st.st_blocks * 512;
		return 0;
	}
	int child = open_dir_at(*fd, name, &st);
	if (child < 0)
		return child;
	int r = push(w, child, name, &st);
	if (r < 0) {
		close(child);
		return r;
	}
	close(*fd);
	*fd = child;
	return 0;
}

/* The top frame is empty: go up through "..", check it is the parent we came
 * from, remove the directory.  *fd becomes the parent's fd. */
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
		if (fstat(parent, &st) < 0 || st.st_dev != p->dev || st.st_ino != p->ino) {
			close(parent);
			return -ESTALE; /* R3: someone moved the tree */
		}
	}
	close(*fd);
	*fd = parent;
	int r = 0;
	if (unlinkat(parent, f->name, AT_REMOVEDIR) == 0) {
		w->stats.files++;
	} else if (errno == ENOTEMPTY && w->crossed) {
		r = 0; /* a skipped mount point is inside: reported at the end */
	} else if (errno != ENOENT) {
		r = neg_errno();
	}
	frame_free(f);
	w->depth--;
	return r;
}

int rmtree_at(int parent_fd, const char *name, struct rmtree_stats *ret_stats)
{
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	struct stat st;
	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return neg_errno();
	struct walk w = { .root_dev = st.st_dev };
	int r = 0;
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parent_fd, name, 0) < 0)
			r = neg_errno();
		else
			w.stats.files++;
		goto out;
	}
	int fd = open_dir_at(parent_fd, name, &st);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	r = push(&w, fd, name, &st);
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
	if (r == 0 && w.crossed)
		r = -EXDEV;
out:
	if (ret_stats)
		*ret_stats = w.stats;
	return r;
}

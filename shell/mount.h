/* Mount primitives on the new mount API.  Every target is resolved inside the
 * new root with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS): a symlink anywhere on the way
 * fails the step (ELOOP), so nothing is ever mounted onto or through a link.
 * Sources are host paths or fds; a tree is cloned with open_tree() and put in
 * place with move_mount(), attributes set on the clone before it is attached.
 * All functions return 0 or -errno. */
#ifndef EPHEMERA_SHELL_MOUNT_H
#define EPHEMERA_SHELL_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>

/* O_PATH fd of PATH inside root_fd, no symlinks followed (not even the last). */
int mnt_resolve(int root_fd, const char *path, bool want_dir);

/* Creates PATH inside root as a directory (mode) or an empty file; the parent
 * must exist.  An existing entry of the right type is fine. */
int mnt_mkdir(int root_fd, const char *path, mode_t mode);
int mnt_mkfile(int root_fd, const char *path, mode_t mode);
int mnt_symlink(int root_fd, const char *target, const char *path);
/* Writes a regular file with content, mode 0644, owner root. */
int mnt_write_file(int root_fd, const char *path, const char *content, mode_t mode);

/* Bind the host tree at src_path (or src_fd when src_path is NULL) onto dst.
 * attr: MOUNT_ATTR_* set recursively on the clone (RDONLY, NOSUID, NODEV...). */
int mnt_bind(int root_fd, const char *src_path, int src_fd, const char *dst, bool recursive,
	     unsigned attr);
/* A detached tree (open_tree(OPEN_TREE_CLONE) made elsewhere) onto dst. */
int mnt_attach(int root_fd, int tree_fd, const char *dst);
/* A fresh filesystem (tmpfs, proc, devpts) with key=value options. */
int mnt_fresh(int root_fd, const char *fstype, const char *options, const char *dst, unsigned attr);
/* Bind dst onto itself read-only (e.g. /proc/sys). */
int mnt_remount_ro(int root_fd, const char *dst);

/* Attach a fresh tmpfs on the directory at_fd and return its root's fd. */
int mnt_new_root(int at_fd, const char *options);
/* pivot_root into root_fd and detach the old root. */
int mnt_pivot(int root_fd);

#endif

/* The sandbox as data: a list of setup steps built from the session and the
 * config, printed by `ephemera-shell --print-plan` (and later doctor), and
 * executed in one loop by sandbox_plan_run().  DESIGN.md "The sandbox". */
#ifndef EPHEMERA_SANDBOX_H
#define EPHEMERA_SANDBOX_H

#include "common/config.h"
#include "shell/mounts.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

enum step_op {
	STEP_DIR,      /* mkdir dst, mode */
	STEP_FILE,     /* empty file dst (a mount point), mode */
	STEP_SYMLINK,  /* dst -> arg */
	STEP_CONTENT,  /* regular file dst with content arg, mode */
	STEP_BIND_RO,  /* host src onto dst, read-only, recursive */
	STEP_BIND_RW,  /* host src onto dst, read-write, not recursive */
	STEP_BIND_DEV, /* host device node src onto dst */
	STEP_BIND_TTY, /* the caller's terminal (fd 0, at host path src) onto dst */
	STEP_TMPFS,    /* fresh tmpfs on dst, options arg */
	STEP_PROC,     /* fresh proc on dst */
	STEP_DEVPTS,   /* fresh devpts instance on dst, options arg */
	STEP_MASK,     /* an unreadable empty file or directory over dst, if it exists */
	STEP_RO,       /* dst bound onto itself read-only, if it exists */
	STEP_UNLINK,   /* remove dst (a source that served its purpose) */
	STEP_ATTACH,   /* the detached tree on fd onto dst (an extra mount, mounts.h) */
};

struct sandbox_step {
	enum step_op op;
	const char *src; /* host path */
	const char *dst; /* path inside the new root */
	const char *arg; /* options, link target or content */
	mode_t mode;
	int fd; /* STEP_ATTACH: the tree, at SANDBOX_FD_BASE + i */
};

/* The fds the plan's steps use (extra mounts' trees): prepared in the setuid
 * shell, kept open into pid 1 by the launcher, closed once the root is built. */
#define SANDBOX_FD_BASE	 100
#define SANDBOX_FD_COUNT PROFILE_MAX_MOUNTS

#define SANDBOX_MAX_STEPS 128

struct sandbox_plan {
	struct sandbox_step steps[SANDBOX_MAX_STEPS];
	size_t n;
	char pool[16384]; /* strings the steps point into */
	size_t used;
	bool overflow;
};

struct sandbox_params {
	const char *name; /* session name = user name inside */
	const char *home; /* host path of the home, e.g. /sessions/NAME */
	uid_t uid;
	gid_t gid;
	const char *shell; /* the real shell, e.g. /bin/bash */
	const struct ephemera_profile *profile; /* sizes of the private tmpfs mounts */
	const char *tty;   /* path of fd 0's terminal, bound as /dev/console; or NULL */
	const struct extra_mounts *extra; /* the profile's mounts, ready; or NULL */
	const char *proxy_socket; /* network = proxy: host path of the proxy's socket */
};

/* Builds the plan; -ENOBUFS when it does not fit (a bug, not a user error). */
int sandbox_plan_build(struct sandbox_plan *plan, const struct sandbox_params *p);
void sandbox_plan_print(const struct sandbox_plan *plan, FILE *out);

/* Executes every step against root_fd (the new root, not yet pivoted).  On
 * failure returns -errno and sets *ret_failed to the step that failed. */
int sandbox_plan_run(const struct sandbox_plan *plan, int root_fd, size_t *ret_failed);
const char *sandbox_step_name(enum step_op op);

#endif

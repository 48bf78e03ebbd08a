/* The session's cgroup, made by ephemera-shell before pid 1 exists
 * (common/cgroup.h has the layout).  pid 1 is cloned straight into it
 * (CLONE_INTO_CGROUP), so nothing of the session ever runs outside it, and
 * with CLONE_NEWCGROUP it is the root of the session's cgroup namespace.
 *
 * Policy: a limit the host cannot enforce (no cgroup v2, or its controller
 * is not in the v2 hierarchy) is reported in ret->unenforced and the login
 * goes on (the caller logs a WARN line for each); a limit the host can
 * enforce but that cannot be set refuses the login (fail closed). */
#ifndef EPHEMERA_SHELL_CGROUP_H
#define EPHEMERA_SHELL_CGROUP_H

#include "common/cgroup.h"
#include "common/config.h"

#include <stddef.h>

struct shell_cgroup {
	int fd;			  /* the session's cgroup (O_DIRECTORY), -1: none */
	unsigned unenforced;	  /* CG_* asked for but not enforceable here */
	const char *why[CG_N];	  /* for each bit of unenforced */
	char host_why[160];	  /* storage for why[] */
};

/* Makes the cgroup when the profile sets memory_max, pids_max or cpu_weight
 * and the host has a writable cgroup v2 hierarchy.  -errno (with err) when
 * the login must be refused. */
int shell_cgroup_create(const struct ephemera_profile *p, const char *name,
			struct shell_cgroup *ret, char *err, size_t errlen);

#endif
